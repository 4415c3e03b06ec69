"""The layer rule of core/ (docs/internals.md, "Layers"): `make layers`
passes on the real tree, and fails, naming the file and the line, when a
file includes a header of a higher layer — checked on a copy of the tree
with one scratch wrong include added. And the function-length rule
(docs/internals.md, "Function length"): tests/funclen.py --check passes on
core/ and names a function over 80 lines that gives no reason."""
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


# ---------------------------------------------------------- function length
# docs/internals.md, "Function length": a function over 80 lines states in
# its head comment why it stays long ("Long: ...").

FUNCLEN = os.path.join(helpers.ROOT, "tests", "funclen.py")


def funclen(*args):
    p = subprocess.run(["python3", FUNCLEN, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def c_function(name, body_lines, comment):
    """A C function of 2 + body_lines lines (head and closing brace), its
    body lines holding braces inside a string and a comment that must not
    count, under the head comment `comment` (none when empty)."""
    body = ['  int x = 0; /* { not a brace */', '  const char *s = "}}";']
    body += [f"  x += {i};" for i in range(body_lines - 3)]
    body += ["  return x + (s[0] == '}');"]
    head = [comment] if comment else []
    return head + [f"static int {name}(void) {{"] + body + ["}"]


def test_every_function_over_80_lines_in_core_states_why():
    rc, out = funclen("--check", os.path.join(helpers.ROOT, "core"))
    assert rc == 0, f"functions over 80 lines without a 'Long:' reason:\n{out}"
    assert ", 0 without" in out, out


def test_funclen_counts_lines_and_names_a_long_function_without_a_reason():
    tmp = tempfile.mkdtemp(prefix="tr-funclen.")
    try:
        src = os.path.join(tmp, "a.c")
        lines = ['#include <stdio.h>', '']
        lines += c_function("short_one", 78, "/* Exactly 80 lines. */")   # lines 3-83
        lines += ['']
        lines += c_function("long_one", 79, "/* 81 lines, no reason. */")  # head at line 86
        lines += ['']
        lines += c_function("long_ok", 100, "/* 102 lines.\n** Long: a test. */")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        rc, out = funclen(tmp, "5")
        assert rc == 0, out
        rows = [l.split() for l in out.splitlines()]
        assert [(r[0], r[2]) for r in rows] == [("102", "long_ok"), ("81", "long_one"),
                                                ("80", "short_one")], out
        rc, out = funclen("--check", tmp)
        assert rc == 1, out
        assert f"{src}:86: long_one has 81 lines (over 80) and its head comment gives no " \
               "reason ('Long: ...')" in out, out
        assert "2 functions over 80 lines, 1 with a reason, 1 without" in out, out
        # the reason given, the check passes
        with open(src, "w") as f:
            f.write("\n".join(lines).replace("/* 81 lines, no reason. */",
                                             "/* 81 lines. Long: a test. */") + "\n")
        rc, out = funclen("--check", tmp)
        assert rc == 0, out
        assert "2 functions over 80 lines, 2 with a reason, 0 without" in out, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
