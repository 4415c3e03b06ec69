#!/bin/sh
# bench/population.sh [BINARY] — load-and-check time and peak memory of one
# population of N actors (docs/scenario-format.md#actors), for N = 1000,
# 10000 and 20000: `tightrope check` parses the YAML, lays the members out,
# builds every view and compiles (and runs the top level of) the policy.
# Then the same population wired by an Erdős–Rényi network of mean degree 8
# (docs/scenario-format.md#relations-by-rule), which each run draws anew:
# `check` (which draws run 1's network) and a one-tick `run` of 2 runs in
# which every member reads its outgoing relations (so each run makes the
# views of its network). Memory should grow linearly in N; the bar is 10,000
# under a second. On a busy machine wall time includes waiting for a core:
# cpu_s is the work.
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
cat > "$DIR/net.lua" <<'LUA'
function decide(me, world)
  local s = 0
  for _, r in ipairs(world:outgoing(me)) do s = s + r.trust end
  me.seen = s
end
LUA
cat > "$DIR/give.lua" <<'LUA'
function apply(world, actor, target) return world:transfer(actor, target, "wealth", 1) end
LUA

# scenario N POLICY [RELATIONS]
scenario() {
  cat <<YAML
scenario: pop
experiment: {ticks: 1, runs: 2}
actors:
  agents:
    count: $1
    id: "agent{i}"
    role: agent
    attrs:
      wealth: {value: 1, min: 0, type: integer, on_bound: error}
      skill: {dist: normal, mean: 0, sd: 1}
      seen: 0
    policy: $2
actions:
  give: {script: give.lua}
metrics:
  gini: "gini(world:actors('agent'), 'wealth')"
  seen: "sum(world:actors('agent'), 'seen')"
${3:-}
YAML
}

# measure LABEL N COMMAND...: one row
measure() {
  label=$1 n=$2
  shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$DIR/t" "$@" > /dev/null 2> "$DIR/err" || { cat "$DIR/err"; exit 1; }
  read -r secs user sys kib < "$DIR/t"
  awk -v l="$label" -v n="$n" -v s="$secs" -v u="$user" -v y="$sys" -v k="$kib" \
    'BEGIN { printf "%-12s %8d %9.2f %9.2f %12.1f %14.2f\n", l, n, s, u + y, k / 1024, k / n }'
}

printf '%-12s %8s %9s %9s %12s %14s\n' what N wall_s cpu_s max_rss_MiB KiB_per_actor
for N in 1000 10000 20000; do
  scenario "$N" p.lua > "$DIR/s.yaml"
  measure check "$N" "$BIN" check "$DIR/s.yaml"
done
for N in 1000 10000 20000; do
  P=$(awk -v n="$N" 'BEGIN { printf "%.10g", 8 / (n - 1) }')
  scenario "$N" net.lua "relations:
  - {from: agents, to: agents, rule: erdos_renyi, p: $P, kind: contact,
     attrs: {trust: {dist: uniform, min: 0, max: 1}}}" > "$DIR/s.yaml"
  measure check+net "$N" "$BIN" check "$DIR/s.yaml"
  measure run2+net "$N" "$BIN" run "$DIR/s.yaml" -j 1 -o "$DIR/out" --series none --quiet
done
