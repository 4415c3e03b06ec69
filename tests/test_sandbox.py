"""The Lua sandbox (docs/lua-api.md, "The sandbox") and run-time error reports (docs/cli.md): denied
libraries and functions, the instruction and memory limits in every kind of
script (a policy's decide and init, an action, an expression, an event
snippet), print to stderr, and what a run-time error message must name."""
import os, re

import helpers
from helpers import Case

BASE = """
    scenario: s
    experiment: {ticks: 3, runs: 2, seed: 5}
    limits: {instructions: 1000000, memory_mb: 64}
    actors:
      envoy: {role: state, attrs: {x: 1}, policy: p.lua}
      other: {role: state, attrs: {x: 1}}
    actions:
      act: {script: act.lua}
    metrics: {x: "envoy.x"}
"""


def run_fail(policy, pattern, yaml=BASE, action="function apply(world, actor, target, args) end",
             timeout=30, actor="envoy"):
    c = Case({"s.yaml": yaml, "p.lua": policy, "act.lua": action})
    try:
        rc, out, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "-j", "1", timeout=timeout)
        assert rc == 3, f"expected exit 3, got {rc}: {err[-600:]}"
        assert re.search(pattern, err, re.I | re.S), f"/{pattern}/ not in: {err[-600:]}"
        if actor:
            assert actor in err, f"the message must name actor {actor}: {err[-600:]}"
        assert not os.path.exists(c.path("pwned")), "a script reached the system"
        assert not os.path.exists(c.path("out", "runs.csv")), "a failed experiment writes no results"
        return err
    finally:
        c.close()


def decide(body):
    return f"function decide(me, world)\n  {body}\nend\n"


def test_denied_globals():
    for name in ("io", "os", "require", "package", "debug", "dofile", "loadfile"):
        run_fail(decide(f"local f = {name}; assert(f == nil, '{name} is reachable')"
                        f" ; me.x = 1 ; error('{name} is absent as it should be')"),
                 rf"{name} is absent")
    # and calling them fails with an error naming them
    run_fail(decide('os.execute("touch pwned")'), r"os")
    run_fail(decide('io.open("pwned", "w")'), r"io")
    run_fail(decide('require("os")'), r"require")
    run_fail(decide('dofile("/etc/passwd")'), r"dofile")
    run_fail(decide('loadfile("/etc/passwd")'), r"loadfile")


def test_no_escape_through_metatables_or_environments():
    # the string metatable and _G/_ENV must not lead to the denied libraries
    for probe in ('("").io', 'getmetatable("").__index.io', '_G.io', '_ENV.os', 'rawget(_G, "os")',
                  'getmetatable("").__index.dump'):
        run_fail(decide(f"local ok, v = pcall(function() return {probe} end)\n"
                        f"  assert(not ok or v == nil, 'leak: {probe}'); error('sealed')"), r"sealed")


def test_binary_chunks_and_string_dump():
    run_fail(decide('local f = string.dump(function() end)'), r"dump")
    # load of text works, of a binary chunk (starts with ESC) fails
    # (refused either by returning nil, message or by raising an error)
    run_fail(decide('local f = load("return 1 + 1"); assert(f() == 2); '
                    'local ok, g = pcall(load, "\\27Lua\\84\\0"); assert(not ok or g == nil); error("text only")'),
             r"text only")
    run_fail(decide('local ok, g = pcall(load, "\\27Lua", "x", "b"); assert(not ok or g == nil); error("no binary")'),
             r"no binary")



def test_collectgarbage_refused():
    """Every option, "count" included: the heap size depends on the worker
    thread's history, so reading it made results differ between -j 1 and
    -j 2 (docs/security.md "Reproducibility")."""
    for opt in ("count", "collect", "stop", "step", "incremental", "generational"):
        run_fail(decide(f"collectgarbage('{opt}')"), r"collectgarbage is not available")
    run_fail(decide("collectgarbage()"), r"collectgarbage is not available")


def test_setmetatable_refuses_gc():
    run_fail(decide("setmetatable({}, {__gc = function() end})"), r"__gc")
    c = Case({"s.yaml": BASE, "p.lua": decide(
        "local t = setmetatable({}, {__index = function(_, k) return 3 end}); me.x = t.anything"),
        "act.lua": "function apply() end"})
    try:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 0 and c.csv("out", "runs.csv")[0]["x"] == "3", "ordinary metatables still work"
    finally:
        c.close()


def test_allowed_libraries_present():
    c = Case({"s.yaml": BASE, "act.lua": "function apply() end", "p.lua": decide(
        "local ok = string.format('%d', 3) == '3' and table.concat({1, 2}, ',') == '1,2' "
        "and math.floor(2.5) == 2 and utf8.char(72) == 'H' and select('#', 1, 2) == 2 "
        "and pcall(error, 'x') == false and tostring(12) == '12' and type(next) == 'function' "
        "and ('abc'):upper() == 'ABC'\n  me.x = ok and 9 or 0")})
    try:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 0, err[-400:]
        assert c.csv("out", "runs.csv")[0]["x"] == "9", "base, string, table, math, utf8 are available"
    finally:
        c.close()


LOOP = "while true do end"


def test_instruction_limit_everywhere():
    """An endless loop in each kind of script ends the experiment with exit
    3 within seconds, naming the actor (where there is one) and the tick."""
    slow = 60 if helpers.sanitized() else 20
    # decide, at tick 2
    err = run_fail(decide(f"if world.tick == 2 then {LOOP} end"), r"instruction|limit", timeout=slow)
    assert re.search(r"tick 2\b", err), err[-400:]
    # init, at tick 0
    err = run_fail(f"function init(me, world) {LOOP} end\nfunction decide(me, world) end",
                   r"instruction|limit", timeout=slow)
    assert re.search(r"tick 0\b", err), err[-400:]
    # an action, at tick 1
    err = run_fail(decide('me:act("act", "other")'), r"instruction|limit",
                   action=f"function apply(world, actor, target, args) {LOOP} end", timeout=slow)
    assert re.search(r"tick 1\b", err), err[-400:]
    # an expression (a metric), at tick 0: no actor
    yaml = BASE.replace('metrics: {x: "envoy.x"}',
                        'metrics: {x: "envoy.x", spin: "(function() while true do end end)()"}')
    err = run_fail(decide(""), r"instruction|limit", yaml=yaml, timeout=slow, actor=None)
    assert re.search(r"spin", err) and re.search(r"tick 0\b", err), err[-400:]
    # an event snippet and a when, at tick 2
    yaml = BASE + '    events:\n      - {name: storm, at: 2, lua: "while true do end"}\n'
    err = run_fail(decide(""), r"instruction|limit", yaml=yaml, timeout=slow, actor=None)
    assert "storm" in err and re.search(r"tick 2\b", err), err[-400:]
    # pattern matching the count hook cannot see is bounded too
    err = run_fail(decide("local s = string.rep('a', 200000); local p = string.rep('a*', 40) .. 'b'; s:find(p)"),
                   r"instruction|limit|pattern|too|time", timeout=slow)


def test_instruction_limit_is_per_call():
    # 200 calls of ~2e5 instructions each fit a limit of 1e6 per call
    c = Case({"s.yaml": BASE.replace("ticks: 3", "ticks: 200"), "act.lua": "function apply() end",
              "p.lua": decide("local s = 0; for i = 1, 50000 do s = s + i end; me.x = me.x + 1")})
    try:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 0, f"the limit counts per call, not per run: {err[-400:]}"
    finally:
        c.close()


def test_memory_limit():
    err = run_fail(decide("local t = {}; for i = 1, 1e9 do t[i] = string.rep('x', 100000) .. i end"),
                   r"memory", timeout=60)
    assert re.search(r"tick 1\b", err)
    # one huge string at once
    run_fail(decide("local s = string.rep('x', 1024 * 1024 * 1024)"), r"memory|too large", timeout=60)


def test_print_goes_to_stderr_with_prefix():
    c = Case({"s.yaml": BASE, "act.lua": "function apply() end",
              "p.lua": decide("if world.tick == 2 then print('hello', 42) end")})
    try:
        rc, out, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "-j", "1")
        assert rc == 0, err[-400:]
        assert "hello" not in out, "print must not write to stdout"
        lines = [l for l in err.splitlines() if "hello" in l]
        assert len(lines) == 2, f"one print per run: {lines}"
        for run, line in zip(("1", "2"), sorted(lines)):
            assert re.search(rf"run {run}\b", line) and re.search(r"tick 2\b", line) and "envoy" in line, line
            assert line.rstrip().endswith("hello\t42"), f"print's tab-separated text: {line!r}"
    finally:
        c.close()


def test_runtime_error_names_everything_and_replay():
    yaml = BASE.replace("ticks: 3, runs: 2, seed: 5", "ticks: 5, runs: 4, seed: 77") + \
        "    variants:\n      harsh: {set: {\"other.x\": 2}}\n"
    c = Case({"s.yaml": yaml, "act.lua": "function apply() end",
              "p.lua": "function decide(me, world)\n"
                       "  if world.run == 3 and world.tick == 4 and world:actor('other').x == 2 then\n"
                       "    error('deliberate failure')\n  end\nend\n"})
    try:
        rc, out, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 3, f"exit {rc}: {err[-600:]}"
        assert "deliberate failure" in err
        assert re.search(r"p\.lua:3\b", err), f"Lua's place of the error: {err[-600:]}"
        assert re.search(r"variant '?harsh'?", err) and re.search(r"point 1\b", err) and \
            re.search(r"run 3\b", err) and re.search(r"tick 4\b", err) and "envoy" in err, err[-600:]
        # the seed of run 3 is the one runs.csv would give it: run the
        # same experiment with a policy that does not fail, and read it there
        c.write("p.lua", "function decide(me, world) end")
        rc2, _, err2 = c.run("run", "s.yaml", "-o", "ok", "--quiet")
        assert rc2 == 0, err2
        seed3 = next(r["seed"] for r in c.csv("ok", "runs.csv") if r["run"] == "3")
        assert seed3 in err, f"the message must give run 3's seed {seed3}: {err[-600:]}"
        assert "traceback" in err.lower(), "Lua traceback"
        m = re.search(r"tightrope replay (\S+) (.*)", err)
        assert m, f"no replay command: {err[-600:]}"
        cmd = m.group(0)
        assert "s.yaml" in cmd and re.search(r"--run 3\b", cmd) and re.search(r"--variant harsh\b", cmd), cmd
    finally:
        c.close()


def run_metrics(policy, runs=2):
    """Runs the one-actor scenario with `policy`; the list of envoy.x per run."""
    c = Case({"s.yaml": BASE.replace("runs: 2", f"runs: {runs}"), "p.lua": policy,
              "act.lua": "function apply() end"})
    try:
        helpers.run_ok(c, "run", "s.yaml", "-o", "out")
        return [float(r["x"]) for r in c.csv("out", "runs.csv")]
    finally:
        c.close()


def test_next_follows_pairs_order():
    """next(t, k) gives the key pairs gives after k, for every key type
    (docs/security.md "Reproducibility"); 1 when both orders agree."""
    xs = run_metrics(decide("""
      local t = {10, 20, [2.5] = 1, [-3] = 1, b = 1, a = 1, [true] = 1, [false] = 1}
      for i = 1, 20 do t[{}] = i; t[function() end] = i end
      t[print] = 1; t[world] = 1
      local via_pairs, via_next = {}, {}
      for k in pairs(t) do via_pairs[#via_pairs + 1] = k end
      local k = next(t)
      while k ~= nil do via_next[#via_next + 1] = k; k = next(t, k) end
      local same = #via_pairs == #via_next and #via_pairs == 50
      for i = 1, #via_pairs do same = same and via_pairs[i] == via_next[i] end
      local order = via_pairs[1] == -3 and via_pairs[2] == 1 and via_pairs[3] == 2 and
                    via_pairs[4] == 2.5 and via_pairs[5] == 'a' and via_pairs[6] == 'b' and
                    via_pairs[7] == false and via_pairs[8] == true and t[via_pairs[9]] == 1
      me.x = (same and order) and 1 or 0"""))
    assert xs == [1.0, 1.0], xs


def test_sort_is_stable():
    """table.sort keeps tied elements in their order: the checksum of ids
    after sorting 2,000 records (10 with key 1 at the end) by key is that of
    1991..2000 followed by 1..1990."""
    xs = run_metrics(decide("""
      local recs = {}
      for i = 1, 2000 do recs[i] = {key = (i > 1990) and 1 or 2, id = i} end
      table.sort(recs, function(a, b) return a.key < b.key end)
      local h = 0
      for i = 1, #recs do h = (h * 31 + recs[i].id) % 1000000007 end
      me.x = h"""))
    h = 0
    for i in list(range(1991, 2001)) + list(range(1, 1991)):
        h = (h * 31 + i) % 1000000007
    assert xs == [float(h)] * 2, (xs, h)
    # without a comparison, and with strings; errors as in Lua
    xs = run_metrics(decide("""
      local t = {5, 3, 9, 1, 3}
      table.sort(t)
      local s = {'b', 'a', 'c'}
      table.sort(s, function(a, b) return a > b end)
      local ok = pcall(table.sort, {1, 'x'})
      me.x = (t[1] == 1 and t[2] == 3 and t[5] == 9 and s[1] == 'c' and s[3] == 'a' and not ok) and 1 or 0"""))
    assert xs == [1.0, 1.0], xs


VIEWS = """
    scenario: s
    experiment: {ticks: 1, runs: 1, seed: 5}
    actors:
      a: {role: state, policy: p.lua, attrs: {x: 1, y: 2}}
      b: {role: state, attrs: {x: 3}}
      v: {count: 4, role: node, attrs: {z: 0}}
    relations:
      - {from: a, to: b, kind: contact, attrs: {w: 0.5}}
      - {from: v, to: v, rule: k_random, k: 1, kind: contact, attrs: {u: 0.25}}
"""


def test_views_list_refuse_rawset_and_name_unknown_names():
    # A view is an empty table read through its metatable: pairs() must
    # still list its attributes in declaration order, rawset() must still
    # be refused (it would shadow the value), and an unknown name must name
    # the actor or relation, fixed or drawn for the run.
    policy = decide("""
  local t = {}
  for k, v in pairs(me) do t[#t + 1] = k .. "=" .. tostring(v) end
  print("pairs " .. table.concat(t, " "))
  print("rawset", pcall(rawset, me, "x", 9))
  print("actor", pcall(function() return me.xx end))
  local r = world:outgoing(me)[1]
  print("fixed", pcall(function() return r.ww end))
  local d = world:outgoing("v1")[1]
  print("drawn", pcall(function() return d.uu end))
  print("drawnset", pcall(rawset, d, "u", 1))
  print("after", me.x, r.w, d.u, getmetatable(me), next(me))""")
    with Case({"s.yaml": VIEWS, "p.lua": policy}) as c:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 0, err[-800:]
    lines = [l.split("] ", 1)[1] for l in err.splitlines() if l.startswith("[run 1 tick 1 a]")]
    assert lines[0] == "pairs x=1.0 y=2.0", lines
    assert lines[1] == "rawset\tfalse\trawset: this table is read-only", lines
    assert lines[2] == "actor\tfalse\tp.lua:7: actor 'a' has no attribute 'xx' (did you mean 'x'?)", lines
    assert lines[3] == "fixed\tfalse\tp.lua:9: relation a:b has no attribute 'ww' (did you mean 'w'?)", lines
    assert re.fullmatch(r"drawn\tfalse\tp\.lua:11: relation v1:v\d has no attribute 'uu' \(did you mean 'u'\?\)",
                        lines[4]), lines
    assert lines[5] == "drawnset\tfalse\trawset: this table is read-only", lines
    assert lines[6] == "after\t1.0\t0.5\t0.25\tfalse\tnil", lines
