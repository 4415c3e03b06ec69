"""Shared instances (docs/lua-api.md, "Shared instances"): a policy that
declares {shared = true} runs its top level once per run and its actors
share its locals and globals; without it each actor has its own instance.
The proxy-web fast policies are shared, so test_loops_in_c's byte-identity
with the plain (per-actor) policies also proves that sharing state keyed by
me.id changes no result."""
import os
import re

from helpers import Case

SCENARIO = """
scenario: s
experiment: {ticks: 5, runs: 3, seed: 11}
actors:
  a: {role: state, policy: p.lua, attrs: {count: 0, loads: 0, mine: 0}}
  b: {role: state, policy: p.lua, attrs: {count: 0, loads: 0, mine: 0}}
  c: {role: state, policy: p.lua, attrs: {count: 0, loads: 0, mine: 0}}
  d: {role: state, policy: q.lua, attrs: {count: 0, loads: 0, mine: 0}}
metrics:
  total: "a.count + b.count + c.count"
  top: "max(world:actors(), 'count')"
  loads: "a.loads"
  mine: "a.mine + b.mine + c.mine"
"""

# Counts decisions in a top-level local; counts top-level runs in a run
# global; keeps each actor's own tally in a table keyed by me.id.
POLICY = """
{declare}
_G.loads = (_G.loads or 0) + 1
local n = 0
local tally = {{}}
function init(me, world) tally[me.id] = 0 end
function decide(me, world)
  n = n + 1
  tally[me.id] = tally[me.id] + 1
  me.count = n
  me.loads = loads
  me.mine = tally[me.id]
end
"""


def _finals(declare):
    """Each run's metrics at the horizon (runs.csv), for p.lua with `declare`."""
    files = {"s.yaml": SCENARIO, "p.lua": POLICY.format(declare=declare),
             "q.lua": POLICY.format(declare="")}
    with Case(files) as c:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet")
        assert rc == 0, err[-800:]
        rows = c.csv("out", "runs.csv")
        assert len(rows) == 3
        return [{k: float(r[k]) for k in ("total", "top", "loads", "mine")} for r in rows]


def test_shared_policy_runs_once_and_its_actors_share_its_locals():
    # Shared: p.lua's top level runs once per run (for a, the first of its
    # actors in file order), then d's own q.lua: the run global `loads` is 2.
    # After 5 ticks the shared counter is at 15, and a, b, c last wrote 13,
    # 14 and 15 in some order: total 42. Each actor's own tally, kept in a
    # table keyed by me.id, is 5. Every run starts afresh.
    for run in _finals("declare {shared = true}"):
        assert run == {"total": 42, "top": 15, "loads": 2, "mine": 15}, run
    # Per actor (no declaration, or shared = false): four top levels, and
    # each actor counts its own 5 decisions.
    for declare in ("", "declare {shared = false}"):
        for run in _finals(declare):
            assert run == {"total": 15, "top": 5, "loads": 4, "mine": 15}, (declare, run)


BAD = [
    ("declare {shared = 1}", "p.lua:1:1: error: declare: 'shared' is true or false: declare {shared = true}"),
    ('declare {shared = true, name = "k"}',
     "p.lua:1:1: error: declare: 'shared' stands alone: write declare {shared = true} as a declare of its own"),
    ("declare {shard = true}", "p.lua:1:1: error: declare: unknown field 'shard' (did you mean 'shared'?)"),
    ("declare {shared = true}\ndeclare {shared = false}",
     "p.lua:2:1: error: declare: 'shared' is declared twice (first at line 1)"),
]


def test_bad_shared_declarations_are_refused_at_their_line():
    for text, want in BAD:
        files = {"s.yaml": SCENARIO, "p.lua": text + "\nfunction decide(me, world) end\n",
                 "q.lua": "function decide(me, world) end\n"}
        with Case(files) as c:
            rc, _, err = c.run("check", "s.yaml")
            assert rc != 0, text
            assert want in err, (text, err)


def test_a_shared_action_script_is_refused():
    scenario = SCENARIO + "actions:\n  poke: {script: act.lua}\n"
    files = {"s.yaml": scenario, "p.lua": "function decide(me, world) end\n",
             "q.lua": "function decide(me, world) end\n",
             "act.lua": "-- poke\ndeclare {shared = true}\nfunction apply(world, actor, target, args) end\n"}
    with Case(files) as c:
        rc, _, err = c.run("check", "s.yaml")
        assert rc != 0
        assert ("act.lua:2:1: error: declare: {shared = true} is for policy scripts; action 'poke' "
                "runs this script, and an action script has one instance per action already") in err, err


def test_shared_instances_use_less_heap():
    # 300 actors on one policy that keeps a table per actor: the heap the
    # engine reports (TIGHTROPE_BENCH_HEAP, after a full collection) is
    # smaller with one shared instance than with 300 instances, by at
    # least the 300 environments (each over 100 bytes).
    actors = "\n".join(f"  x{i}: {{role: state, policy: p.lua, attrs: {{v: 0}}}}" for i in range(300))
    scenario = f"scenario: s\nexperiment: {{ticks: 2, runs: 1, seed: 1}}\nactors:\n{actors}\n"
    body = ("local t = {}\nfunction init(me, world) t[me.id] = {me.v} end\n"
            "function decide(me, world) me.v = t[me.id][1] + 1 end\n")
    heap = {}
    for declare in ("", "declare {shared = true}\n"):
        with Case({"s.yaml": scenario, "p.lua": declare + body}) as c:
            rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "-j", 1,
                               env={"TIGHTROPE_BENCH_HEAP": "1"})
            assert rc == 0, err[-800:]
            kb = re.findall(r"heap_kb_loaded=([0-9.]+)", err)
            assert len(kb) == 1, err[-800:]
            heap[declare] = float(kb[0])
    saved = (heap[""] - heap["declare {shared = true}\n"]) * 1024 / 300
    assert saved > 100, heap
