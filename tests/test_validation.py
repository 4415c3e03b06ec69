"""Scenario validation (docs/scenario-format.md, "Validation") and usage errors (docs/cli.md): every kind of
mistake exits 1 (or 2 for the command line), names FILE:LINE:COL of the
offending key or value (1-based, as YAML editors count) and says what is
wrong. Expected places are counted by hand from the scenario text below."""
import os, re

from helpers import Case

HEAD = "scenario: s\nexperiment: {ticks: 5, runs: 1}\n"


def check_errors(files, want, main="bad.yaml", extra=None):
    """`check` exits 1 and reports each (file, line, col, regex) of want;
    `run` refuses the same file with exit 1 and writes nothing."""
    c = Case(files)
    try:
        rc, out, err = c.run("check", main)
        text = out + err
        assert rc == 1, f"check must exit 1, got {rc}: {text[-500:]}"
        for fname, line, col, pattern in want:
            place = f"{fname}:{line}:{col}: error: "
            hits = [l for l in text.splitlines() if l.startswith(place)]
            assert hits, f"no '{place}...' in:\n{text[-800:]}"
            assert any(re.search(pattern, h, re.I) for h in hits), f"/{pattern}/ not in {hits}"
        reported = re.findall(r"^[\w.]+:\d+:\d+: error:", text, re.M)
        assert len(reported) == len(want), f"expected {len(want)} errors, got:\n{text[-800:]}"
        rc, out, err = c.run("run", main, "-o", "out", "--quiet")
        assert rc == 1, f"run of an invalid scenario must exit 1, got {rc}"
        assert not os.path.exists(c.path("out", "runs.csv")), "nothing is run"
    finally:
        c.close()


def test_yaml_syntax_error():
    # the flow mapping of line 2 is never closed; libyaml notices on line 3
    check_errors({"bad.yaml": HEAD.replace("runs: 1}", "runs: 1") + "actors:\n  a: {role: state}\n"},
                 [("bad.yaml", 3, 7, r"expected ',' or '}'")])


def test_unknown_keys_with_suggestions():
    check_errors({"bad.yaml": "scenario: s\nexperiment: {tics: 5, runs: 1}\nactors:\n"
                              "  a:\n    role: state\n    atrs: {x: 1}\nmetrcs: {x: \"1\"}\n"},
                 [("bad.yaml", 2, 14, r"unknown key 'tics'.*did you mean 'ticks'"),
                  ("bad.yaml", 6, 5, r"unknown key 'atrs'.*'attrs'"),
                  ("bad.yaml", 7, 1, r"unknown key 'metrcs'.*'metrics'")])


def test_duplicate_keys():
    check_errors({"bad.yaml": HEAD + "actors:\n  a:\n    role: state\n    attrs: {x: 1, x: 2}\n"},
                 [("bad.yaml", 6, 19, r"duplicate key 'x'.*line 6")])


def test_anchor_and_alias_refused():
    check_errors({"bad.yaml": "scenario: s\nexperiment: &e {ticks: 5, runs: 1}\n"
                              "actors:\n  a: {role: state, attrs: {x: 1}}\n"},
                 [("bad.yaml", 2, 13, r"anchor")])
    c = Case({"bad.yaml": HEAD + "actors:\n  a: {role: state, attrs: {x: 1}}\n  b: {role: state, attrs: *x}\n"})
    try:
        rc, out, err = c.run("check", "bad.yaml")
        assert rc == 1 and re.search(r"bad\.yaml:5:\d+: error: .*alias", err, re.I), err
    finally:
        c.close()


def test_wrong_types():
    check_errors({"bad.yaml": "scenario: s\nexperiment: {ticks: five, runs: 1}\nactors:\n"
                              "  a: {role: state, attrs: {x: \"1\"}}\n"},
                 [("bad.yaml", 2, 21, r"integer.*ticks.*five"),
                  ("bad.yaml", 4, 31, r"number.*'x'")])
    # YAML 1.2 core schema: `yes` is a string, not a boolean, `1e-3` a number
    check_errors({"bad.yaml": HEAD + "actors:\n  a: {role: state, attrs: {x: 1e-3, y: yes}}\n"},
                 [("bad.yaml", 4, 40, r"number.*'y'.*yes")])


def test_invalid_ids_and_names():
    check_errors({"bad.yaml": HEAD + "actors:\n"
                  "  Bad-Id: {role: state, attrs: {x: 1}}\n"
                  "  end: {role: state, attrs: {x: 1}}\n"
                  "  ok: {role: warlord, attrs: {id: 1}}\n"
                  "  rng: {role: state, attrs: {x: 1}}\n"
                  "metrics: {tick: \"1\"}\n"
                  "variants: {baseline: {}}\n"},
                 [("bad.yaml", 4, 3, r"invalid actor id 'Bad-Id'"),
                  ("bad.yaml", 5, 3, r"'end'.*keyword"),
                  ("bad.yaml", 6, 31, r"'id' is reserved"),
                  ("bad.yaml", 7, 3, r"'rng'"),
                  ("bad.yaml", 8, 11, r"'tick'"),
                  ("bad.yaml", 9, 12, r"baseline")])


def test_unknown_actor_or_attribute_in_relation_and_path():
    check_errors({"bad.yaml": HEAD + "actors:\n"
                  "  a: {role: state, attrs: {x: 1}}\n"
                  "  b: {role: state, attrs: {x: 1}}\n"
                  "relations:\n"
                  "  - {from: a, to: bb, kind: hostility, attrs: {tension: 0.1}}\n"
                  "  - {from: b, to: a, kind: hostility, attrs: {tension: 0.1}}\n"
                  "variants:\n"
                  "  v: {set: {\"b:a.tensoin\": 0.2, \"c.x\": 1, \"a.y\": 2}}\n"
                  "events:\n"
                  "  - {name: e, at: 1, add: {\"a.params.k\": 1}}\n"},
                 [("bad.yaml", 7, 19, r"unknown actor 'bb'.*'b'"),
                  ("bad.yaml", 10, 13, r"no attribute 'tensoin'.*did you mean 'tension'"),
                  ("bad.yaml", 10, 33, r"unknown actor 'c'"),
                  ("bad.yaml", 10, 43, r"no attribute 'y'"),
                  ("bad.yaml", 12, 28, r"no parameter 'k'")])


def test_bounds_min_over_max_and_value_outside():
    check_errors({"bad.yaml": HEAD + "actors:\n"
                  "  a: {role: state, attrs: {x: {value: 0.5, min: 1, max: 0}, y: {value: 2, min: 0, max: 1}}}\n"},
                 [("bad.yaml", 4, 49, r"min 1 is greater than max 0"),
                  ("bad.yaml", 4, 72, r"value 2 is outside \[0, 1\]")])
    # a variant (or --set) that pushes a bounded value outside its bounds
    base = HEAD + "actors:\n  a: {role: state, attrs: {y: {value: 0.5, min: 0, max: 1}}}\nvariants:\n"
    check_errors({"bad.yaml": base + "  v: {set: {\"a.y\": 1.5}}\n  w: {add: {\"a.y\": 0.7}}\n"},
                 [("bad.yaml", 6, 20, r"outside \[0, 1\]"), ("bad.yaml", 7, 20, r"outside \[0, 1\]")])
    c = Case({"ok.yaml": base + "  v: {set: {\"a.y\": 1}}\n"})
    try:
        rc, _, err = c.run("run", "ok.yaml", "--set", "a.y=2", "-o", "out", "--quiet")
        assert rc == 1 and "outside" in err, f"--set outside bounds: exit {rc}: {err}"
    finally:
        c.close()


def test_non_finite_numbers_refused():
    check_errors({"bad.yaml": HEAD + "actors:\n  a: {role: state, attrs: {x: .inf, y: .nan}}\n"},
                 [("bad.yaml", 4, 31, r"finite|inf"), ("bad.yaml", 4, 40, r"finite|nan")])


def test_expressions_that_do_not_compile():
    check_errors({"bad.yaml": HEAD + "actors:\n  a: {role: state, attrs: {x: 1}}\n"
                  "metrics:\n  good: \"a.x\"\n  bad: \"a.x +\"\n"
                  "outcomes:\n  worse: \"a.x >> = 1\"\n"
                  "events:\n  - {name: e, at: 1, lua: \"a.x = = 1\", when: \"a.x >\"}\n"},
                 [("bad.yaml", 7, 8, r"metric 'bad' does not compile: unexpected symbol near <eof>"),
                  ("bad.yaml", 9, 10, r"outcome 'worse' does not compile: unexpected symbol near '='"),
                  ("bad.yaml", 11, 27, r"event 'e' lua does not compile.*unexpected symbol near '='"),
                  ("bad.yaml", 11, 46, r"event 'e' when does not compile")])


def test_scripts_that_do_not_compile_or_are_missing():
    # Lua's own message at the script's own line
    check_errors({
        "bad.yaml": HEAD + "actors:\n"
                    "  a: {role: state, attrs: {x: 1}, policy: broken.lua}\n"
                    "  b: {role: state, attrs: {x: 1}}\n"
                    "actions:\n  zap: {script: act.lua}\n",
        "broken.lua": "function decide(me, world)\n  local x =\nend\n",
        "act.lua": "function apply(world, actor, target, args)\n  return 1\nend end\n",
    }, [("broken.lua", 3, 1, r"unexpected symbol near 'end'"),
        ("act.lua", 3, 1, r"<eof> expected near 'end'")])
    check_errors({"bad.yaml": HEAD + "actors:\n  a: {role: state, attrs: {x: 1}, policy: nowhere.lua}\n"},
                 [("bad.yaml", 4, 43, r"'nowhere.lua' not found")])


def test_script_lookup_order():
    """Relative to the scenario's folder first, then TIGHTROPE_PATH, then
    the source tree's scripts/ (where textbook/richardson.lua lives)."""
    c = Case({
        "sub/s.yaml": HEAD + "actors:\n  a: {role: state, attrs: {x: 0}, policy: p.lua}\nmetrics: {x: \"a.x\"}\n",
        "sub/p.lua": "function decide(me, world) me.x = 1 end",
        "lib1/p.lua": "function decide(me, world) me.x = 2 end",
        "lib1/q.lua": "function decide(me, world) me.x = 3 end",
        "lib2/q.lua": "function decide(me, world) me.x = 4 end",
    })
    try:
        env = {"TIGHTROPE_PATH": c.path("lib1") + ":" + c.path("lib2")}
        rc, _, err = c.run("run", "sub/s.yaml", "-o", "o1", "--quiet", env=env)
        assert rc == 0, err
        assert c.csv("o1", "runs.csv")[0]["x"] == "1", "the scenario's folder comes first"
        c.write("sub/s.yaml", HEAD + "actors:\n  a: {role: state, attrs: {x: 0}, policy: q.lua}\nmetrics: {x: \"a.x\"}\n")
        rc, _, err = c.run("run", "sub/s.yaml", "-o", "o2", "--quiet", env=env)
        assert rc == 0, err
        assert c.csv("o2", "runs.csv")[0]["x"] == "3", "TIGHTROPE_PATH in order"
        rc, _, err = c.run("check", "sub/s.yaml")
        assert rc == 1 and "q.lua" in err
        c.write("sub/s.yaml", HEAD + "actors:\n  a: {role: state, attrs: {spending: 0}, policy: textbook/richardson.lua,\n"
                "     params: {rival: a, reaction: 0, fatigue: 0, grievance: 2, dt: 0.5}}\nmetrics: {x: \"a.spending\"}\n")
        rc, _, err = c.run("run", "sub/s.yaml", "-o", "o3", "--quiet")
        assert rc == 0, err
        assert c.csv("o3", "runs.csv")[0]["x"] == "5", "source tree's scripts/: 5 ticks of +0.5*2"
    finally:
        c.close()


def test_file_too_large_refused():
    c = Case()
    try:
        c.write("big.yaml", HEAD + "actors:\n  a: {role: state, attrs: {x: 1}}\ndescription: "
                + "x" * (16 * 1024 * 1024) + "\n")
        rc, out, err = c.run("check", "big.yaml")
        assert rc == 1 and re.search(r"big\.yaml: error: .*16 MiB", err), f"exit {rc}: {err[-300:]}"
    finally:
        c.close()


def test_nesting_over_64_levels_refused():
    depth = 70
    c = Case()
    try:
        c.write("deep.yaml", HEAD + "actors:\n  a: {role: state, attrs: {x: 1}}\ndescription: "
                + "[" * depth + "]" * depth + "\n")
        rc, out, err = c.run("check", "deep.yaml", timeout=30)
        assert rc == 1, f"exit {rc}: {err[-300:]}"
        m = re.search(r"deep\.yaml:5:(\d+): error: .*nesting.*64", err)
        assert m, err[-300:]
    finally:
        c.close()


def test_all_errors_reported_at_once():
    check_errors({"bad.yaml": "scenario: Bad Id\nexperiment: {ticks: -1, runs: 1}\nactors:\n"
                              "  a: {role: state, atrs: {x: 1}}\n"
                              "  b: {role: state, attrs: {x: {value: 2, min: 0, max: 1}}}\n"
                              "relations:\n  - {from: a, to: c, kind: hostility, attrs: {tension: 0.1}}\n"
                              "metrics: {m: \"b.x\"}\n"},
                 [("bad.yaml", 1, 11, r"scenario id|invalid"),
                  ("bad.yaml", 2, 21, r"ticks"),
                  ("bad.yaml", 4, 20, r"atrs"),
                  ("bad.yaml", 5, 39, r"outside"),
                  ("bad.yaml", 7, 19, r"unknown actor 'c'")])


# --- command line ---------------------------------------------------------------
OK = HEAD + "actors:\n  a: {role: state, attrs: {x: 1}}\nvariants:\n  v: {set: {a.x: 2}}\n"


def test_usage_errors_exit_2():
    c = Case({"ok.yaml": OK})
    try:
        for args in (["run", "ok.yaml", "--bogus"], ["run", "ok.yaml", "-n", "abc"],
                     ["run", "ok.yaml", "-n", "0"], ["run", "ok.yaml", "--runs", "2.5"],
                     ["frobnicate", "ok.yaml"], ["run", "ok.yaml", "--variant", "nope"],
                     ["run", "ok.yaml", "--series", "some"], ["run", "ok.yaml", "-t", "x"],
                     ["run", "ok.yaml", "-s", "-1"], ["run", "ok.yaml", "-j", "0"], ["run"],
                     ["run", "ok.yaml", "--set", "a.x"]):
            rc, out, err = c.run(*args, "-o", "out")
            assert rc == 2, f"{args}: exit {rc}, expected 2: {err[-300:]}"
            assert err.strip(), f"{args}: says nothing"
            assert not os.path.exists(c.path("out")), f"{args}: wrote output"
        rc, out, err = c.run("run", "ok.yaml", "--variant", "nope", "-o", "out")
        assert "nope" in err
        rc, out, err = c.run("--help")
        assert rc == 0 and "usage" in (out + err).lower()
        rc, out, err = c.run("--version")
        assert rc == 0 and re.search(r"\d+\.\d+", out + err)
    finally:
        c.close()


def test_variant_selection_and_overrides():
    c = Case({"ok.yaml": OK + "  w: {add: {a.x: 5}}\nmetrics: {x: \"a.x\"}\n"})
    try:
        rc, _, err = c.run("run", "ok.yaml", "-o", "out", "--quiet", "--variant", "w", "--set", "a.x=10", "-t", "3")
        assert rc == 0, err
        rows = c.csv("out", "runs.csv")
        assert [(r["variant"], r["x"], r["end_tick"]) for r in rows] == [("baseline", "10", "3"), ("w", "15", "3")], \
            "--variant keeps the baseline; variants apply on top of --set; -t sets the horizon"
    finally:
        c.close()


# --- edge cases: deep params, compile errors beside YAML errors ------------
# params nested deep (within the 64-level limit) load without exhausting
# Lua's stack; a file with YAML-level errors still gets its expression and
# script syntax errors reported (all errors at once).
HEAD3 = "scenario: s\nexperiment: {ticks: 3, runs: 1}\n"


def test_deeply_nested_params_do_not_crash():
    for depth in (14, 30, 55):
        nested = "[" * depth + "1" + "]" * depth
        c = Case({"s.yaml": HEAD3 + "actors:\n  a: {role: state, attrs: {x: 1}, params: {k: " + nested + "}}\n"
                            "metrics: {x: \"a.x\"}\n"})
        try:
            rc, out, err = c.run("check", "s.yaml", timeout=20)
            assert rc == 0, f"depth {depth}: check exit {rc} (139 = SIGSEGV): {err[-300:]}"
            rc, out, err = c.run("run", "s.yaml", "-o", "out", "--quiet", timeout=20)
            assert rc == 0, f"depth {depth}: run exit {rc}: {err[-300:]}"
        finally:
            c.close()


def test_compile_errors_reported_with_yaml_errors():
    c = Case({"bad.yaml": HEAD3 + "actors:\n  a: {role: state, atrs: {x: 1}}\n"
                                 "  b: {role: state, attrs: {x: 1}}\nmetrics: {m: \"b.x +\"}\n"})
    try:
        rc, out, err = c.run("check", "bad.yaml")
        assert rc == 1
        lines = sorted(int(m) for m in re.findall(r"bad\.yaml:(\d+):\d+: error:", err))
        assert lines == [4, 6], f"errors on lines {lines}, expected 4 (atrs) and 6 (metric): {err}"
    finally:
        c.close()
