"""The loops policies repeat, run in C (docs/lua-api.md, "Loops in C"):
world:nudge, world:sum, world:mean, and rng.pick without `exclude`. Each
must give exactly what the Lua loop it replaces gives: the proxy-web
benchmark written both ways (bench/proxyweb/*.lua and *_fast.lua) must
produce byte-identical results, and small cases are checked against the
documented formula evaluated in the same order (Python floats are the same
IEEE doubles)."""
import os
import re
import subprocess
import sys

from helpers import Case, ROOT

BENCH = os.path.join(ROOT, "bench")


def _proxyweb(c, name, k, ticks, runs, fast):
    args = [sys.executable, os.path.join(BENCH, "gen_proxyweb.py"), str(k), str(ticks), str(runs), "7"]
    if fast:
        args.append("--fast")
    text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    c.write(name, text)


def test_fast_proxyweb_policies_give_byte_identical_results():
    # patron: a nudge loop with a normal draw per relation; proxy: a sum over
    # incoming relations; mediator: a uniform pick. Same draws in the same
    # order, so every output file but the manifest (script hashes) is equal.
    with Case() as c:
        os.symlink(os.path.join(BENCH, "proxyweb"), c.path("proxyweb"))
        for k, runs in ((16, 12), (40, 4)):
            _proxyweb(c, f"plain{k}.yaml", k, 30, runs, False)
            _proxyweb(c, f"fast{k}.yaml", k, 30, runs, True)
            outs = []
            for name, j in ((f"plain{k}", 1), (f"fast{k}", 1), (f"fast{k}", 2)):
                out = f"{name}-j{j}"
                rc, _, err = c.run("run", f"{name}.yaml", "-j", j, "--quiet", "--series", "all", "-o", out)
                assert rc == 0, err[-800:]
                outs.append(out)
            for f in ("runs.csv", "finals.csv", "outcomes.csv", "series.csv"):
                ref = c.bytes(outs[0], f)
                for o in outs[1:]:
                    assert c.bytes(o, f) == ref, f"K={k}: {o}/{f} differs from the plain policies'"
            # The runs are not trivially equal to each other: the draws matter.
            tension = {r["mean_tension"] for r in c.csv(outs[0], "runs.csv")}
            assert len(tension) == runs, tension


def _run(files, metrics_want=None):
    with Case(files) as c:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "--series", "all")
        return rc, err, (c.csv("out", "series.csv") if rc == 0 else None)


NUDGE = """
scenario: s
experiment: {ticks: 2, runs: 1, seed: 3}
actors:
  a: {role: state, policy: p.lua, attrs: {total: 0, avg: 0, none: 0}}
  b: {role: state, attrs: {cap: 0.1}}
  c: {role: state, attrs: {cap: 0.8}}
relations:
  - {from: a, to: b, kind: contact, attrs: {w: 0.2, u: 0.1}}
  - {from: a, to: c, kind: contact, attrs: {w: {value: 0.9, min: 0, max: 1}, u: 0.3}}
metrics: {wb: "rel('a', 'b').w", wc: "rel('a', 'c').w", ub: "rel('a', 'b').u", uc: "rel('a', 'c').u",
          total: "a.total", avg: "a.avg", none: "a.none", ws: "world:sum(world:outgoing('a'), 'w')",
          wm: "world:mean(world:outgoing('a'), 'u')"}
"""


def test_nudge_sum_mean_follow_their_formulas_exactly():
    # w: x + gain * (goal - TO's cap), clamped to [0, 0.7]; returns the sum of
    # the values written. u: pulled towards 1 by its own value (no toward).
    # sum/mean read the start-of-tick values (writes are buffered); in a
    # metric (ws, wm) they see the end of the tick.
    rc, err, s = _run({"s.yaml": NUDGE, "p.lua": """
        local rels
        local steer = {toward = "cap", goal = 0.5, gain = 0.5, min = 0, max = 0.7}
        local pull = {goal = 1, gain = 0.25}
        function init(me, world) rels = world:outgoing(me) end
        function decide(me, world)
          me.avg = world:mean(rels, "w") + world:sum(rels, "u")
          me.total = world:nudge(rels, "w", steer)
          world:nudge(rels, "u", pull)
          me.none = world:mean({}, "w") == nil and world:sum({}, "w") or -1
        end"""})
    assert rc == 0, err
    wb, wc, ub, uc = 0.2, 0.9, 0.1, 0.3
    for t in (1, 2):
        avg = (wb + wc) / 2 + (ub + uc)
        wb = min(max(wb + 0.5 * (0.5 - 0.1), 0), 0.7)
        wc = min(max(wc + 0.5 * (0.5 - 0.8), 0), 0.7)
        ub, uc = ub + 0.25 * (1 - ub), uc + 0.25 * (1 - uc)
        row = next(r for r in s if r["tick"] == str(t))
        got = {k: float(row[k]) for k in ("wb", "wc", "ub", "uc", "total", "avg", "none", "ws", "wm")}
        assert got == {"wb": wb, "wc": wc, "ub": ub, "uc": uc, "total": wb + wc, "avg": avg, "none": 0,
                       "ws": wb + wc, "wm": (ub + uc) / 2}, (t, got)
    # tick 1: w = 0.4, 0.7 (0.75 clamped), total 1.1; tick 2: 0.6, 0.55
    assert (wb, wc) == (0.2 + 0.2 + 0.2, 0.7 + 0.5 * (0.5 - 0.8))


def test_nudge_draws_as_the_lua_loop_with_rng_normal():
    # Two runs of one relation list: in C, and as the documented Lua loop;
    # the same seed gives the same numbers to the last bit.
    loop = """
        for _, r in ipairs(rels) do
          local x = r.w + 0.3 * (0.5 - world:actor(r.to).cap) + rng.normal(0, 0.05)
          if x < 0 then x = 0 elseif x > 0.7 then x = 0.7 end
          r.w = x
          total = total + x
        end"""
    body = {"c": 'total = world:nudge(rels, "w", {toward = "cap", goal = 0.5, gain = 0.3, sd = 0.05, min = 0, max = 0.7})',
            "lua": loop}
    got = {}
    for how, code in body.items():
        rc, err, s = _run({"s.yaml": NUDGE.replace("ticks: 2, runs: 1", "ticks: 30, runs: 3"),
                           "p.lua": f"""
            local rels
            function init(me, world) rels = world:outgoing(me) end
            function decide(me, world)
              local total = 0
              {code}
              me.total = total + rng.uniform()
            end"""})
        assert rc == 0, err
        got[how] = [(r["run"], r["tick"], r["wb"], r["wc"], r["total"]) for r in s]
    assert got["c"] == got["lua"]
    # The draws moved it (it drifts to the clamp at 0.7 within a few ticks).
    assert len({w for _, _, w, _, _ in got["c"]}) >= 10


def fails(policy, pattern):
    rc, err, _ = _run({"s.yaml": NUDGE, "p.lua": policy})
    assert rc == 3, (rc, err[-600:])
    assert re.search(pattern, err), err[-600:]


def test_nudge_refuses_what_a_view_write_refuses_and_bad_options():
    # Ownership: b's incoming relation a:b is a's to write.
    with Case({"s.yaml": NUDGE.replace("a: {role: state, policy: p.lua",
                                       "b0: {role: state, policy: q.lua}\n  a: {role: state, policy: p.lua"),
               "p.lua": "function decide() end",
               "q.lua": 'function decide(me, world) world:nudge(world:incoming("b"), "w", {sd = 0.1}) end'}) as c:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 3 and "the policy of 'b0' cannot write 'w' of relation a:b" in err, err[-600:]
    fails('function decide(me, world) world:nudge(world:outgoing(me), "w", {gian = 1}) end',
          r"world:nudge: unknown option 'gian' \(did you mean 'gain'\?\)")
    fails('function decide(me, world) world:nudge(world:outgoing(me), "w", {gain = 1}) end',
          r"world:nudge: options 'gain' and 'goal' go together")
    fails('function decide(me, world) world:nudge(world:outgoing(me), "w", {sd = -1}) end',
          r"world:nudge: option 'sd' must be >= 0")
    fails('function decide(me, world) world:nudge(world:outgoing(me), "w", {min = 1, max = 0}) end',
          r"world:nudge: option 'min' \(1\.0+\) is above 'max' \(0\.0+\)")
    fails('function decide(me, world) world:nudge(world:outgoing(me), "w", {gain = 1e308, goal = 1e308}) end',
          r"relation a:b: cannot set 'w' to inf \(attributes must be finite\)")
    fails('function decide(me, world) world:nudge(world:outgoing(me), "w", '
          '{toward = "capx", gain = 1, goal = 0}) end',
          r"world:nudge: actor 'b' \(the TO of item 1 of the list\) has no attribute 'capx'")
    fails('function decide(me, world) world:nudge({me}, "w", {sd = 1}) end',
          r"world:nudge: item 1 of the list is actor 'a', not a relation")
    fails('function decide(me, world) world:nudge(world:outgoing(me), "v", {sd = 1}) end',
          r"world:nudge: relation a:b \(item 1 of the list\) has no attribute 'v'")
    fails('function decide(me, world) me.total = world:sum({me, 3}, "total") end',
          r"world:sum: item 2 of the list is not an actor or relation view")


def test_expressions_may_sum_but_not_nudge():
    with Case({"s.yaml": NUDGE.replace('ws: "world:sum(', 'ws: "world:nudge(').replace("'w')\"", "'w', {})\"", 1),
               "p.lua": "function decide() end"}) as c:
        rc, _, err = c.run("check", "s.yaml")
        assert rc != 0 and "world:nudge cannot be called from an expression (expressions only read)" in err, err
