#!/usr/bin/env python3
"""gen_proxyweb.py — write the proxy-web benchmark model (shared/bench/proxyweb.md)
as a tightrope scenario for K proxies.

    python3 bench/gen_proxyweb.py K T RUNS SEED [--scripts DIR] [--fast] > scenario.yaml

Scripts are named DIR/patron.lua etc. (default DIR "proxyweb"), which the
engine looks up relative to the scenario file's folder, then in
TIGHTROPE_PATH (docs/scenario-format.md, "Scripts and where they are found"): write the YAML into bench/, or put bench/ on
TIGHTROPE_PATH, or pass --scripts with a path relative to where the YAML lives.

Actors in file order: proxies px0.., patrons pat0.., mediators med0.., adv.
Bounded attributes ([0, 1]) mirror the clamps of the C version (proxyweb.c).
With --fast the policies are DIR/patron_fast.lua etc.: the same model with
its loops in C (world:nudge, world:sum, rng.pick), drawing the same numbers
in the same order, so its results are identical.
"""
import argparse
import sys


def sizes(k):
    """Numbers of patrons and mediators for K proxies, as proxyweb.md says."""
    return max(1, k // 4), max(1, k // 8)


def scenario(k, ticks, runs, seed, scripts, fast=False):
    patrons, mediators = sizes(k)
    sfx = "_fast" if fast else ""
    out = []
    w = out.append
    w(f"scenario: proxyweb-k{k}")
    w(f'title: "proxy-web benchmark, K={k}"')
    w("description: >-")
    w("  Benchmark model of bench/README.md: K proxies, K/4 patrons, K/8 mediators")
    w("  and one passive adversary; written by bench/gen_proxyweb.py.")
    w(f"experiment: {{ticks: {ticks}, runs: {runs}, seed: {seed}}}")
    w("")
    w("actors:")
    for i in range(k):
        hardline = (i + 0.5) / k
        w(f"  px{i}: {{role: proxy, policy: {scripts}/proxy{sfx}.lua, attrs: "
          f"{{capability: {{value: 0.5, min: 0, max: 1}}, hardline: {hardline!r}}}}}")
    for j in range(patrons):
        w(f"  pat{j}: {{role: patron, policy: {scripts}/patron{sfx}.lua, attrs: {{resources: 1.0}}}}")
    for m in range(mediators):
        w(f"  med{m}: {{role: mediator, policy: {scripts}/mediator{sfx}.lua, attrs: "
          f"{{credibility: {{value: 0.6, min: 0, max: 1}}}}}}")
    w("  adv: {role: state, attrs: {capability: 1.0}}")
    w("")
    w("relations:")
    for i in range(k):
        w(f"  - {{from: pat{i % patrons}, to: px{i}, kind: patronage, "
          f"attrs: {{support: {{value: 0.1, min: 0, max: 1}}}}}}")
    for i in range(k):
        w(f"  - {{from: adv, to: px{i}, kind: hostility, "
          f"attrs: {{tension: {{value: 0.3, min: 0, max: 1}}}}}}")
    w("")
    w("actions:")
    w(f"  attack_adv: {{script: {scripts}/attack_adv.lua}}")
    w(f"  calm: {{script: {scripts}/calm.lua}}")
    w("")
    w("metrics:")
    w("  mean_tension: \"mean(world:outgoing('adv'), 'tension')\"")
    w("  mean_capability: \"mean(world:actors('proxy'), 'capability')\"")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("k", type=int, help="number of proxies K")
    parser.add_argument("ticks", type=int, help="horizon T")
    parser.add_argument("runs", type=int, help="runs")
    parser.add_argument("seed", type=int, help="master seed")
    parser.add_argument("--scripts", default="proxyweb",
                        help="folder of the Lua scripts as the scenario names it")
    parser.add_argument("--fast", action="store_true",
                        help="policies with their loops in C (patron_fast.lua, ...): identical results")
    args = parser.parse_args()
    if args.k < 1 or args.ticks < 1 or args.runs < 1 or args.seed < 0:
        parser.error("K, T and RUNS must be positive, SEED not negative")
    sys.stdout.write(scenario(args.k, args.ticks, args.runs, args.seed, args.scripts, args.fast))


if __name__ == "__main__":
    main()
