"""libtightrope: the installed library, header and tightrope.pc build the
embedding example, which reproduces the command line's files byte for byte;
the shared library exports the tr_ API and nothing else; cancel from another
thread, resume, diagnostics of a scenario given as a string."""
import os, re, shutil, subprocess, sys, tempfile

import helpers
from helpers import ROOT

DOHA = os.path.join(ROOT, "scenarios", "doha.yaml")


def _need_tools():
    if helpers.sanitized():
        helpers.skip("installs and links the regular build; not a sanitizer test")
    for tool in ("cc", "make", "pkg-config", "nm"):
        if not shutil.which(tool):
            helpers.skip(f"{tool} is not installed")


def _make(*args, env=None):
    p = subprocess.run(["make", "--no-print-directory", "-C", ROOT, *args], capture_output=True,
                       text=True, timeout=600, env=env)
    assert p.returncode == 0, f"make {' '.join(args)}: {p.stdout[-1500:]}{p.stderr[-1500:]}"
    return p.stdout


def _files_under(top):
    found = []
    for d, _, names in os.walk(top):
        found += [os.path.relpath(os.path.join(d, n), top) for n in names]
    return sorted(found)


def _cli(*args):
    p = subprocess.run([helpers.binary(), *args, "--quiet"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-800:]


def _lib_build(prefix, source, out, *extra):
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "tightrope"], capture_output=True,
                           text=True, env=env, check=True).stdout.split()
    assert f"-I{prefix}/include" in flags and "-ltightrope" in flags, flags
    cmd = ["cc", "-Wall", "-Wextra", "-Werror", source, "-o", out, *flags, *extra,
           f"-Wl,-rpath,{prefix}/lib"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-1500:]


def test_embed_example_from_installed_prefix_matches_the_command_line():
    _need_tools()
    tmp = tempfile.mkdtemp(prefix="tr-install-")
    try:
        prefix = os.path.join(tmp, "prefix")
        _make("install", f"PREFIX={prefix}")
        installed = _files_under(prefix)
        for f in ("bin/tightrope", "include/tightrope.h", "lib/libtightrope.a",
                  "lib/libtightrope.so", "lib/libtightrope.so.0", "lib/pkgconfig/tightrope.pc",
                  "share/tightrope/scripts/policies/mediator.lua"):
            assert f in installed, (f, installed[:20])
        assert any(re.fullmatch(r"lib/python3\.\d+/dist-packages/tightrope/__init__\.py", f)
                   for f in installed), installed
        embed = os.path.join(tmp, "embed")
        _lib_build(prefix, os.path.join(ROOT, "examples", "embed.c"), embed)
        p = subprocess.run([embed, DOHA, os.path.join(tmp, "lib-out"), "60", "7"],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-800:]
        assert p.stdout.splitlines()[-1] == "libtightrope 0.1.0: status 0", p.stdout
        _cli("run", DOHA, "-o", os.path.join(tmp, "cli-out"), "-n", "60", "-s", "7")
        for name in ("outcomes.csv", "runs.csv", "finals.csv", "compare.csv", "series_summary.csv"):
            with open(os.path.join(tmp, "lib-out", name), "rb") as a, \
                 open(os.path.join(tmp, "cli-out", name), "rb") as b:
                assert a.read() == b.read(), f"{name} differs between the library and the CLI"
        # The per-run callback counted what outcomes.csv counts.
        with open(os.path.join(tmp, "cli-out", "outcomes.csv")) as f:
            rows = [line.split(",") for line in f.read().splitlines()[1:]]
        expected = [f"{r[0]},{r[2]},{r[3]}" for r in rows]
        assert p.stdout.splitlines()[:-1] == expected, (p.stdout[:400], expected[:5])
        # Statically linked against libtightrope.a, with tightrope.pc's private deps.
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        static = subprocess.run(["pkg-config", "--static", "--libs", "tightrope"], capture_output=True,
                                text=True, env=env, check=True).stdout.split()
        static = [f for f in static if f != "-ltightrope"]
        sembed = os.path.join(tmp, "embed-static")
        q = subprocess.run(["cc", os.path.join(ROOT, "examples", "embed.c"), f"-I{prefix}/include",
                            os.path.join(prefix, "lib", "libtightrope.a"), *static, "-o", sembed],
                           capture_output=True, text=True)
        assert q.returncode == 0, q.stderr[-1500:]
        p = subprocess.run([sembed, DOHA, os.path.join(tmp, "static-out"), "60", "7"],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-800:]
        with open(os.path.join(tmp, "static-out", "outcomes.csv"), "rb") as a, \
             open(os.path.join(tmp, "cli-out", "outcomes.csv"), "rb") as b:
            assert a.read() == b.read()
        # The installed Python package finds the installed binary.
        pydir = [os.path.dirname(os.path.join(prefix, f)) for f in installed
                 if f.endswith("tightrope/__init__.py")][0]
        py = subprocess.run([sys.executable, "-c",
                             "import tightrope; print(tightrope.binary()); "
                             f"r = tightrope.run({DOHA!r}, runs=3, seed=2, pandas=False); "
                             "print(len(r.runs))"],
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=os.path.dirname(pydir)))
        assert py.returncode == 0, py.stderr[-800:]
        assert py.stdout.split() == [os.path.join(prefix, "bin", "tightrope"), "18"], py.stdout
        _make("uninstall", f"PREFIX={prefix}")
        assert _files_under(prefix) == [], _files_under(prefix)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _declared_api():
    with open(os.path.join(ROOT, "core", "tightrope.h")) as f:
        text = f.read()
    return set(re.findall(r"TR_API[^;(]*?\b(tr_\w+)\s*\(", text))


def test_shared_library_exports_only_the_tr_api():
    _need_tools()
    lib = os.path.join(ROOT, "build", "libtightrope.so")
    if not os.path.exists(lib):
        helpers.skip("build/libtightrope.so is not built (make all)")
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                         check=True).stdout
    names = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    stray = sorted(n for n in names if not n.startswith("tr_"))
    assert not stray, f"exported without the tr_ prefix: {stray[:20]}"
    declared = _declared_api()
    assert len(declared) > 30, declared
    assert names == declared, (sorted(declared - names), sorted(names - declared))
    soname = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True).stdout
    assert "Library soname: [libtightrope.so.0]" in soname, soname
    # main.c linked against the shared library alone (make builds it so) runs
    # the command line: it needs nothing but the public API.
    shared = os.path.join(ROOT, "build", "tightrope-shared")
    deps = subprocess.run(["ldd", shared], capture_output=True, text=True).stdout
    assert "libtightrope.so.0 => " + os.path.join(ROOT, "build") in deps, deps
    tmp = tempfile.mkdtemp(prefix="tr-shared-")
    try:
        for exe, out in ((shared, "a"), (helpers.binary(), "b")):
            p = subprocess.run([exe, "run", DOHA, "-n", "10", "-s", "4", "--quiet", "-o",
                                os.path.join(tmp, out)], capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr[-500:]
        for name in ("runs.csv", "outcomes.csv"):
            with open(os.path.join(tmp, "a", name), "rb") as a, open(os.path.join(tmp, "b", name), "rb") as b:
                assert a.read() == b.read(), name
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _api_test(tmp):
    _need_tools()
    exe = os.path.join(tmp, "api_test")
    p = subprocess.run(["cc", "-Wall", "-Wextra", "-Werror", os.path.join(ROOT, "tests", "c", "api_test.c"),
                        "-I" + os.path.join(ROOT, "core"), "-L" + os.path.join(ROOT, "build"),
                        "-ltightrope", "-lpthread", "-Wl,-rpath," + os.path.join(ROOT, "build"),
                        "-o", exe], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-1500:]
    return exe


def test_cancel_from_another_thread_then_resume_gives_the_uninterrupted_files():
    tmp = tempfile.mkdtemp(prefix="tr-api-")
    try:
        exe = _api_test(tmp)
        out = os.path.join(tmp, "out")
        p = subprocess.run([exe, "cancel", DOHA, out, "50", "11", "20"], capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-800:]
        lines = p.stdout.split("\n")
        status, calls = map(int, lines[0].split()[1:])
        assert status == 130, p.stdout          # TR_EINT: cancelled, resumable
        assert 20 <= calls < 300, p.stdout       # stopped early (6 variants x 50 runs)
        status, calls = map(int, lines[1].split()[1:])
        assert status == 0 and calls == 300, p.stdout  # journalled runs go to the callback too
        _cli("run", DOHA, "-o", os.path.join(tmp, "cli"), "-n", "50", "-s", "11")
        for name in ("runs.csv", "outcomes.csv", "compare.csv"):
            with open(os.path.join(out, name), "rb") as a, open(os.path.join(tmp, "cli", name), "rb") as b:
                assert a.read() == b.read(), name
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_scenario_from_a_string_reports_every_error_with_its_place():
    tmp = tempfile.mkdtemp(prefix="tr-api-")
    try:
        exe = _api_test(tmp)
        assert subprocess.run([exe, "options"], capture_output=True, text=True).stdout == "ok\n"
        bad = ("scenario: s\nexperiment: {tiks: 3}\nactors:\n"
               "  a: {role: mediator, attrs: {x: {value: 2, min: 0, max: 1}}}\n")
        p = subprocess.run([exe, "string", "inline.yaml"], input=bad, capture_output=True, text=True)
        lines = p.stdout.splitlines()
        assert lines[-1] == "invalid", p.stdout
        assert "inline.yaml|2|14|unknown key 'tiks' in experiment (did you mean 'ticks'?)" in lines[0], lines
        assert lines[1].startswith("inline.yaml|4|42|value 2 is outside [0, 1] of attribute 'x'"), lines
        good = ("scenario: s\nexperiment: {ticks: 3}\nactors:\n  a: {role: mediator, attrs: {x: 1}}\n"
                "metrics:\n  x: a.x\n")
        p = subprocess.run([exe, "string", "inline.yaml"], input=good, capture_output=True, text=True)
        assert p.stdout.splitlines() == ["loaded", "id s metrics 1"], p.stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
