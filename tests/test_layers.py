"""The layer rule of core/ (docs/internals.md, "Layers"): `make layers`
passes on the real tree, and fails, naming the file and the line, when a
file includes a header of a higher layer — checked on a copy of the tree
with one scratch wrong include added."""
import os
import shutil
import subprocess
import tempfile

import helpers


def make_layers(root):
    p = subprocess.run(["make", "--no-print-directory", "-C", root, "layers"],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def copy_tree():
    """core/, tests/layers.py and the Makefile in a temporary folder."""
    tmp = tempfile.mkdtemp(prefix="tr-layers.")
    shutil.copytree(os.path.join(helpers.ROOT, "core"), os.path.join(tmp, "core"))
    os.mkdir(os.path.join(tmp, "tests"))
    shutil.copy(os.path.join(helpers.ROOT, "tests", "layers.py"), os.path.join(tmp, "tests"))
    shutil.copy(os.path.join(helpers.ROOT, "Makefile"), tmp)
    return tmp


def test_make_layers_passes_on_the_tree():
    rc, out = make_layers(helpers.ROOT)
    assert rc == 0, f"make layers failed on the tree:\n{out}"
    assert "every include goes to its own layer or below" in out, out


def test_make_layers_fails_on_an_upward_include_naming_file_and_line():
    tmp = copy_tree()
    try:
        rc, out = make_layers(tmp)
        assert rc == 0, f"the copy should pass before the change:\n{out}"
        # base/ (the bottom layer) includes a header of run/: line 3 of a
        # scratch file
        scratch = os.path.join(tmp, "core", "base", "scratch.c")
        with open(scratch, "w") as f:
            f.write('/* scratch */\n#include "base/diag.h"\n#include "run/world.h"\n')
        # and a header of scenario/ reaches up to experiment/ on its line 2
        hdr = os.path.join(tmp, "core", "scenario", "scratch.h")
        with open(hdr, "w") as f:
            f.write('#include "scenario/scenario.h"\n#include "experiment/output.h"\n')
        rc, out = make_layers(tmp)
        assert rc != 0, f"make layers passed with upward includes:\n{out}"
        lines = [l for l in out.splitlines() if ": includes " in l]
        assert len(lines) == 2, out
        assert lines[0].endswith('core/base/scratch.c:3: includes "run/world.h" of the run layer '
                                 "from the base layer below it (pass a callback down instead)"), out
        assert 'core/scenario/scratch.h:2: includes "experiment/output.h" of the experiment layer' \
            in lines[1], out
        assert "layers: 2 include(s) break the layer rule" in out, out
        # an include of the same layer or below is allowed
        with open(scratch, "w") as f:
            f.write('#include "base/diag.h"\n#include "tightrope.h"\n')
        os.remove(hdr)
        rc, out = make_layers(tmp)
        assert rc == 0, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
