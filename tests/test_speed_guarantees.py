"""What the fast paths of the engine must keep (docs/lua-api.md#the-sandbox,
docs/security.md): results identical for every -j, with and without the
exact instruction count; a runaway script stopped by the CPU-time limit in
every kind of script, even under pcall/xpcall; SIGINT stopping a runaway
script at once; writes a policy may not make refused with their messages."""
import os, re, signal, subprocess, time

import helpers
from helpers import Case, run_ok

BASE = """
    scenario: s
    experiment: {ticks: 3, runs: 2, seed: 5}
    limits: {cpu_ms: 200}
    actors:
      envoy: {role: state, attrs: {x: 1}, policy: p.lua}
      other: {role: state, attrs: {x: 1}, policy: q.lua}
    relations:
      - {from: envoy, to: other, kind: contact, attrs: {trust: 0.5}}
    actions:
      act: {script: act.lua}
    metrics: {x: "envoy.x"}
"""
LOOP = "while true do end"
NOOP = "function decide(me, world) end\n"


def decide(body):
    return f"function decide(me, world)\n  {body}\nend\n"


def run_fail(files, pattern, yaml=BASE, actor="envoy", tick=None, timeout=60):
    c = Case({"s.yaml": yaml, "q.lua": NOOP, "act.lua": "function apply() end", **files})
    try:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "-j", "1", timeout=timeout)
        assert rc == 3, f"expected exit 3, got {rc}: {err[-600:]}"
        assert re.search(pattern, err, re.S), f"/{pattern}/ not in: {err[-600:]}"
        if actor:
            assert f"actor '{actor}'" in err, f"the message must name actor {actor}: {err[-600:]}"
        if tick is not None:
            assert re.search(rf"tick {tick}\b", err), f"the message must name tick {tick}: {err[-600:]}"
        assert not os.path.exists(c.path("out", "runs.csv")), "a failed experiment writes no results"
        return err
    finally:
        c.close()


CPU = r"CPU time limit exceeded \(limits\.cpu_ms = 200 per call\)"


def test_cpu_limit_stops_every_kind_of_script():
    """No count hook (limits.instructions not declared): an endless loop in
    a policy's top level, init, decide, an action, a metric, an outcome, an
    event's when and an event snippet ends with exit 3 naming the place."""
    with Case({"s.yaml": BASE, "q.lua": NOOP, "act.lua": "function apply() end",
               "p.lua": f"{LOOP}\n" + NOOP}) as c:   # a top level: refused before any run
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "-j", "1", timeout=60)
        assert rc == 1 and re.search(CPU, err) and "s.yaml:5:" in err, f"exit {rc}: {err[-400:]}"
    run_fail({"p.lua": f"function init(me, world) {LOOP} end\n" + NOOP}, CPU, tick=0)
    run_fail({"p.lua": decide(f"if world.tick == 2 then {LOOP} end")}, CPU, tick=2)
    run_fail({"p.lua": decide('me:act("act", "other")'),
              "act.lua": f"function apply(world, actor, target, args) {LOOP} end"}, CPU, tick=1)
    spin = '(function() while true do end end)()'
    err = run_fail({"p.lua": NOOP}, CPU, actor=None, tick=0,
                   yaml=BASE.replace('metrics: {x: "envoy.x"}', f'metrics: {{x: "envoy.x", spin: "{spin}"}}'))
    assert "metric 'spin'" in err, err[-400:]
    err = run_fail({"p.lua": NOOP}, CPU, actor=None, tick=0,
                   yaml=BASE + f'    outcomes: {{never: "{spin}"}}\n')
    assert "outcome 'never'" in err, err[-400:]
    err = run_fail({"p.lua": NOOP}, CPU, actor=None, tick=2,
                   yaml=BASE + f'    events:\n      - {{name: storm, at: 2, when: "{spin}"}}\n')
    assert "storm" in err, err[-400:]
    err = run_fail({"p.lua": NOOP}, CPU, actor=None, tick=2,
                   yaml=BASE + f'    events:\n      - {{name: storm, at: 2, lua: "{LOOP}"}}\n')
    assert "storm" in err, err[-400:]


def test_cpu_limit_is_not_swallowed_by_pcall_or_xpcall():
    run_fail({"p.lua": decide(f"while true do pcall(function() {LOOP} end) end")}, CPU, tick=1)
    run_fail({"p.lua": decide(f"for i = 1, 1e12 do xpcall(function() {LOOP} end, "
                              f"function(m) {LOOP} end) end")}, CPU, tick=1)
    run_fail({"p.lua": decide(f"local ok = pcall(function() {LOOP} end); me.x = 5")}, CPU, tick=1)


def test_cpu_limit_refuses_library_work_no_hook_can_stop():
    """A C library call cannot be interrupted: without limits.instructions,
    work that could never finish within limits.cpu_ms is refused up front."""
    run_fail({"p.lua": decide("table.move({}, 1, 1e12, 1, {})")}, CPU, tick=1)
    run_fail({"p.lua": decide("local ok = pcall(table.move, {}, 1, 1e12, 1, {}); me.x = 2")}, CPU, tick=1)
    # ordinary library calls are not charged against anything visible
    with Case({"s.yaml": BASE, "q.lua": NOOP, "act.lua": "function apply() end",
               "p.lua": decide('local s = string.upper("abc") .. table.concat({1, 2}, ",") '
                               'for k in pairs({a = 1, b = 2}) do end; me.x = #s')}) as c:
        run_ok(c, "run", "s.yaml", "-o", "out")
        assert c.csv("out", "runs.csv")[0]["x"] == "6"


def test_default_cpu_limit_without_limits_section():
    yaml = BASE.replace("    limits: {cpu_ms: 200}\n", "")
    run_fail({"p.lua": decide(LOOP)}, r"CPU time limit exceeded \(limits\.cpu_ms = 1000 per call\)",
             yaml=yaml, tick=1)


def test_cpu_ms_must_be_positive():
    with Case({"s.yaml": BASE.replace("cpu_ms: 200", "cpu_ms: 0"), "p.lua": NOOP, "q.lua": NOOP,
               "act.lua": "function apply() end"}) as c:
        rc, _, err = c.run("check", "s.yaml")
        assert rc == 1 and "cpu_ms" in err and "s.yaml:3:" in err, f"exit {rc}: {err[-300:]}"


def test_sigint_stops_a_runaway_script_within_a_second():
    """limits.cpu_ms far away: Ctrl-C must still stop the script at once,
    exit 130, and keep the experiment resumable."""
    yaml = BASE.replace("cpu_ms: 200", "cpu_ms: 3600000")
    with Case({"s.yaml": yaml, "q.lua": NOOP, "act.lua": "function apply() end",
               "p.lua": decide(f'if world.tick == 2 then print("spinning") {LOOP} end')}) as c:
        p = subprocess.Popen([helpers.binary(), "run", "s.yaml", "-o", "out", "--quiet", "-j", "2"],
                             cwd=c.dir, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            line = p.stderr.readline()
            while ": warning: " in line:        # check's warnings come before the runs
                line = p.stderr.readline()
            assert "spinning" in line, f"the policy started its loop: {line!r}"
            time.sleep(0.2)                     # well inside the loop
            t0 = time.monotonic()
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=60)
            took = time.monotonic() - t0
        finally:
            if p.poll() is None:
                p.kill()
        assert p.returncode == 130, f"exit {p.returncode}: {err[-400:]}"
        limit = 10 if helpers.sanitized() else 1.0
        assert took <= limit, f"SIGINT took {took:.2f} s to stop a runaway script"
        assert os.path.isdir(c.path("out", ".tightrope-partial")), "the experiment stays resumable"


def outputs(c, out):
    return {name: c.bytes(out, name) for name in sorted(os.listdir(c.path(out)))
            if name != "manifest.yaml"}


def test_threads_identical_for_every_bundled_scenario():
    """-j 1 and -j 2 write the same bytes, --series all --events, for every
    scenario in scenarios/."""
    runs = "4" if helpers.sanitized() else "10"
    folder = os.path.join(helpers.ROOT, "scenarios")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".yaml"):
            continue
        with Case() as c:
            path = os.path.join(folder, name)
            for j in ("1", "2"):
                run_ok(c, "run", path, "-n", runs, "-j", j, "--series", "all", "--events", "-o", f"j{j}")
            a, b = outputs(c, "j1"), outputs(c, "j2")
            assert a.keys() == b.keys() and "series.csv" in a and "events.csv" in a, name
            for f in a:
                assert a[f] == b[f], f"{name}: {f} differs between -j 1 and -j 2"


def test_exact_instruction_count_changes_no_result():
    """The opt-in count hook (limits.instructions) and the default CPU-time
    bound give byte-identical results: a limit only ever ends a run."""
    src = open(helpers.scenario_path("doha.yaml"), encoding="utf-8").read()
    assert "\nlimits:" not in src, "doha.yaml declares limits: the test must add its own"
    with Case({"exact.yaml": src + "\nlimits: {instructions: 100000000}\n"}) as c:
        args = ("-n", "12", "-j", "1", "--series", "all", "--events", "--quiet")
        env = {"TIGHTROPE_PATH": os.path.join(helpers.ROOT, "scripts")}
        rc, _, err = c.run("run", helpers.scenario_path("doha.yaml"), *args, "-o", "plain")
        assert rc == 0, err[-400:]
        rc, _, err = c.run("run", "exact.yaml", *args, "-o", "exact", env=env)
        assert rc == 0, err[-400:]
        x, y = outputs(c, "plain"), outputs(c, "exact")
        assert x.keys() == y.keys()
        for f in x:
            assert x[f] == y[f], f"{f} differs with the count hook on"


def test_expression_lists_are_read_only_and_aggregate_like_views():
    """Lists in expressions are shared and read-only; aggregates over them
    equal the sums of the attributes; a missing attribute is still named."""
    yaml = BASE.replace('metrics: {x: "envoy.x"}', 'metrics:\n'
                        '      total: "sum(world:actors(), \'x\')"\n'
                        '      n: "count(world:actors(\'state\'))"\n'
                        '      low: "min(world:outgoing(\'envoy\'), \'trust\')"\n'
                        '      direct: "envoy.x + other.x"\n')
    pol = decide("me.x = me.x + rng.uniform(0, 1)")
    with Case({"s.yaml": yaml, "p.lua": pol, "q.lua": pol, "act.lua": "function apply() end"}) as c:
        run_ok(c, "run", "s.yaml", "-o", "out", "--series", "all")
        rows = c.csv("out", "series.csv")
        assert rows
        for r in rows:
            assert float(r["total"]) == float(r["direct"]) and r["n"] == "2" and float(r["low"]) == 0.5, r
    # a missing attribute is named at check time, before any run
    bad = BASE.replace('metrics: {x: "envoy.x"}', 'metrics: {x: "mean(world:actors(), \'trus\')"}')
    with Case({"s.yaml": bad, "p.lua": NOOP, "q.lua": NOOP, "act.lua": "function apply() end"}) as c:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 1 and "no actor of world:actors() has an attribute 'trus'" in err, err
    spoil = '(function() local l = world:actors(); l[1] = 0; return 0 end)()'
    bad = BASE.replace('metrics: {x: "envoy.x"}', f'metrics: {{x: "{spoil}"}}')
    run_fail({"p.lua": NOOP}, r"read-only", yaml=bad, actor=None, tick=0)


def test_globals_cached_per_script_stay_right():
    """Library names are read once per script and run; what scripts share
    through _G is read live; the library names cannot be rebound."""
    yaml = BASE.replace('metrics: {x: "envoy.x"}', 'metrics: {x: "envoy.x", y: "other.x"}')
    p = decide("_G.alarm = world.tick * 10; local n = 0; for k in pairs(_G) do n = n + 1 end\n"
               "  me.x = math.floor(2.5) + load('return alarm')() + (n > 10 and 100 or 0)")
    q = decide("me.x = (alarm or -1) + math.max(1, 2)\n"
               "  local ok, e = pcall(function() _G.math = {} end)\n"
               "  assert(not ok and e:find('_G.math cannot be replaced'), e)\n"
               "  assert(not pcall(rawset, _G, 'z', 1), 'rawset(_G) is refused')\n"
               "  math.twice = function(v) return 2 * v end")
    with Case({"s.yaml": yaml.replace("runs: 2", "runs: 1"), "p.lua": p, "q.lua": q,
               "act.lua": "function apply() end"}) as c:
        run_ok(c, "run", "s.yaml", "-o", "out", "--series", "all", "-j", "1")
        rows = c.csv("out", "series.csv")
        # actors decide in a shuffled order: other sees this tick's or the last tick's alarm
        for r in rows[1:]:
            t = int(r["tick"])
            assert float(r["x"]) == 2 + 10 * t + 100, r
            before = 10 * (t - 1) + 2 if t > 1 else 1     # no alarm before the first decide
            assert float(r["y"]) in (10 * t + 2, before), r


def test_refused_writes_keep_their_messages():
    """Writes through views are still checked: another actor's attribute,
    a non-number and a non-finite number are refused with these messages."""
    run_fail({"p.lua": decide('world:actor("other").x = 2')},
             r"the policy of 'envoy' cannot write 'x' of actor 'other': a policy writes only its "
             r"own attributes and its outgoing relations; use an action \(me:act\) to change others",
             tick=1)
    run_fail({"p.lua": decide('me.x = "high"')},
             r"actor 'envoy': attribute 'x' takes a number, got a string value", tick=1)
    run_fail({"p.lua": decide('me.x = 0/0')},
             r"actor 'envoy': cannot set 'x' to (-?nan|-?NaN)\S* \(attributes must be finite\)", tick=1)
    run_fail({"p.lua": decide('world:rel("envoy", "other").trust = 1/0')},
             r"relation envoy:other: cannot set 'trust' to inf\S* \(attributes must be finite\)", tick=1)
    # an outgoing relation is the policy's own: that write is accepted
    with Case({"s.yaml": BASE.replace('metrics: {x: "envoy.x"}', 'metrics: {t: "rel(\'envoy\', \'other\').trust"}'),
               "p.lua": decide('world:rel("envoy", "other").trust = 0.25'), "q.lua": NOOP,
               "act.lua": "function apply() end"}) as c:
        run_ok(c, "run", "s.yaml", "-o", "out")
        assert float(c.csv("out", "runs.csv")[0]["t"]) == 0.25
