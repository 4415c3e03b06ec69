#!/usr/bin/env python3
"""gen_scale.py — scenarios for bench/scale.sh, written into a folder.

    python3 bench/gen_scale.py tiny DIR            DIR/tiny.yaml (+ DIR/tiny.lua)
    python3 bench/gen_scale.py ring DIR N TICKS RUNS   DIR/ring-N.yaml (+ DIR/ring.lua)

tiny: one actor, three random-walk metrics, 40 ticks — for peak memory
against the number of runs.
ring: N actors on a ring, each with relations to its next two neighbours
(2N relations). Every actor's policy does constant work: it reads two of its
own attributes and the weight of one relation (looked up by id each tick
with world:rel), and makes one buffered write — so the cost per actor-tick
should not depend on N.
"""
import os
import sys

TINY_YAML = """scenario: tiny
experiment: {ticks: 40, runs: 1000, seed: 3}
actors:
  a: {role: state, attrs: {x: 0, y: 0, z: 0}, policy: tiny.lua}
metrics: {x: "a.x", y: "a.y", z: "a.z"}
"""

TINY_LUA = """function decide(me, world)
  me.x = me.x + rng.normal(0, 1)
  me.y = me.y + rng.uniform()
  me.z = me.z * 0.9 + rng.uniform()
end
"""

RING_LUA = """local nxt
function init(me, world) nxt = world:outgoing(me)[1].to end
function decide(me, world)
  me.y = me.y * 0.5 + me.x * world:rel(me, nxt).w
end
"""


def ring(n, ticks, runs):
    out = [f"scenario: ring{n}", f"experiment: {{ticks: {ticks}, runs: {runs}, seed: 1}}", "actors:"]
    for i in range(n):
        out.append(f"  a{i}: {{role: state, attrs: {{x: {1 + i % 5}, y: 0}}, policy: ring.lua}}")
    out.append("relations:")
    for i in range(n):
        for d in (1, 2):
            out.append(f"  - {{from: a{i}, to: a{(i + d) % n}, attrs: {{w: 0.5}}}}")
    out += ["metrics:", '  y0: "a0.y"']
    return "\n".join(out) + "\n"


def main():
    kind, folder = sys.argv[1], sys.argv[2]
    if kind == "tiny":
        files = {"tiny.yaml": TINY_YAML, "tiny.lua": TINY_LUA}
    elif kind == "ring":
        n, ticks, runs = map(int, sys.argv[3:6])
        files = {f"ring-{n}-{ticks}.yaml": ring(n, ticks, runs), "ring.lua": RING_LUA}
    else:
        sys.exit("usage: gen_scale.py tiny DIR | ring DIR N TICKS RUNS")
    for name, text in files.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
