"""Scenario loading edge cases: params nested deep (within the 64-level
limit) load without exhausting Lua's stack, and a file with YAML-level
errors still gets its expression and script syntax errors reported (docs/scenario-format.md,
"Validation": all errors at once)."""
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
