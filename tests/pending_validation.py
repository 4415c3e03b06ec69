"""Pending (engine bugs) in scenario loading. Rename to
test_validation_more.py once fixed.

1. params nested 14+ levels deep (well under the 64-level limit) crash
   `check` and `run` with SIGSEGV (Lua stack overflow while building
   me.params: no lua_checkstack; the crash surfaces in lua_close from
   script_compile_all). Depth 55 hung instead of crashing.
2. Expressions and scripts are compiled only when the YAML validated, so a
   file with a YAML-level error and a metric that does not compile reports
   only the first: SPEC §3.6 "All errors found are reported, not only the
   first"."""
import re

from helpers import Case

HEAD = "scenario: s\nexperiment: {ticks: 3, runs: 1}\n"


def test_deeply_nested_params_do_not_crash():
    for depth in (14, 30, 55):
        nested = "[" * depth + "1" + "]" * depth
        c = Case({"s.yaml": HEAD + "actors:\n  a: {role: state, attrs: {x: 1}, params: {k: " + nested + "}}\n"
                            "metrics: {x: \"a.x\"}\n"})
        try:
            rc, out, err = c.run("check", "s.yaml", timeout=20)
            assert rc == 0, f"depth {depth}: check exit {rc} (139 = SIGSEGV): {err[-300:]}"
            rc, out, err = c.run("run", "s.yaml", "-o", "out", "--quiet", timeout=20)
            assert rc == 0, f"depth {depth}: run exit {rc}: {err[-300:]}"
        finally:
            c.close()


def test_compile_errors_reported_with_yaml_errors():
    c = Case({"bad.yaml": HEAD + "actors:\n  a: {role: state, atrs: {x: 1}}\n"
                                 "  b: {role: state, attrs: {x: 1}}\nmetrics: {m: \"b.x +\"}\n"})
    try:
        rc, out, err = c.run("check", "bad.yaml")
        assert rc == 1
        lines = sorted(int(m) for m in re.findall(r"bad\.yaml:(\d+):\d+: error:", err))
        assert lines == [4, 6], f"errors on lines {lines}, expected 4 (atrs) and 6 (metric): {err}"
    finally:
        c.close()
