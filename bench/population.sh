#!/bin/sh
# bench/population.sh [BINARY] — load-and-check time and peak memory of one
# population of N actors (docs/scenario-format.md#actors), for N = 1000,
# 10000 and 20000: `tightrope check` parses the YAML, lays the members out,
# builds every view and compiles (and runs the top level of) the policy.
# Memory should grow linearly in N; the bar is 10,000 under a second. On a
# busy machine wall time includes waiting for a core: cpu_s is the work.
set -eu
BIN=${1:-build/tightrope}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/p.lua" <<'LUA'
function decide(me, world)
  if me.wealth > 0 then me:act("give", rng.pick(world:others(me))) end
end
LUA
cat > "$DIR/give.lua" <<'LUA'
function apply(world, actor, target) return world:transfer(actor, target, "wealth", 1) end
LUA
printf '%8s %9s %9s %12s %14s\n' N wall_s cpu_s max_rss_MiB KiB_per_actor
for N in 1000 10000 20000; do
  cat > "$DIR/s.yaml" <<YAML
scenario: pop
experiment: {ticks: 1, runs: 1}
actors:
  agents:
    count: $N
    id: "agent{i}"
    role: agent
    attrs:
      wealth: {value: 1, min: 0, type: integer, on_bound: error}
      skill: {dist: normal, mean: 0, sd: 1}
    policy: p.lua
actions:
  give: {script: give.lua}
metrics:
  gini: "gini(world:actors('agent'), 'wealth')"
YAML
  /usr/bin/time -f '%e %U %S %M' -o "$DIR/t" "$BIN" check "$DIR/s.yaml" > /dev/null
  read -r secs user sys kib < "$DIR/t"
  awk -v n="$N" -v s="$secs" -v u="$user" -v y="$sys" -v k="$kib" \
    'BEGIN { printf "%8d %9.2f %9.2f %12.1f %14.2f\n", n, s, u + y, k / 1024, k / n }'
done
