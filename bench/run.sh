#!/usr/bin/env bash
# run.sh — the proxy-web benchmark: tightrope against the same model
# hand-written in C with GSL and written in plain Lua 5.4 over plain tables
# (no engine), on one core. `make bench` runs it.
#
#   bench/run.sh BINARY        e.g. bench/run.sh build/tightrope
#
# Environment: BENCH_REPEAT (default 3): each program runs this many times
# per size and the fastest wall time counts. BENCH_INSTRUCTIONS=0 skips the
# instruction counts (valgrind's callgrind, about two minutes) and the cache
# misses (cachegrind, about fifteen minutes; BENCH_CACHE=0 skips only these). What is
# measured and how to read the figures: bench/README.md.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh BINARY" >&2
  exit 2
fi
binary=$1
bench_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench_dir")
case $binary in /*) ;; *) binary=$PWD/$binary ;; esac
if [ ! -x "$binary" ]; then
  echo "bench: $binary is not an executable (run make first)" >&2
  exit 2
fi
repeat=${BENCH_REPEAT:-3}

# The C yardstick and the plain-Lua reference, built the same way every time.
mkdir -p "$root/build/bench"
reference=$root/build/bench/proxyweb-c
plainlua=$root/build/bench/proxyweb-lua
plainlua_script=$bench_dir/plainlua/proxyweb.lua
cc -O2 "$bench_dir/proxyweb.c" $(pkg-config --cflags --libs gsl) -o "$reference"
cc -O2 "$bench_dir/plainlua.c" $(pkg-config --cflags --libs lua5.4 gsl) -o "$plainlua"

# Scenarios live in a scratch folder; a link makes their script paths
# (proxyweb/*.lua) resolve relative to the scenario's folder (docs/scenario-format.md, "Scripts and where they are found").
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tightrope-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
ln -s "$bench_dir/proxyweb" "$scratch/proxyweb"

now() { date +%s.%N; }
# cpu CMD...: user + system CPU seconds of CMD (which must succeed).
cpu() {
  python3 -c 'import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
if os.waitstatus_to_exitcode(status): sys.exit(1)
print(f"{ru.ru_utime + ru.ru_stime:.4f}")' "$@"
}

# actors K: K + P + M + 1, P = max(1, K/4), M = max(1, K/8).
actors() {
  awk -v k="$1" 'BEGIN { p = int(k / 4); if (p < 1) p = 1; m = int(k / 8); if (m < 1) m = 1;
    printf "%d", k + p + m + 1 }'
}

# metric_mean OUT METRIC: "mean ci_low ci_high" of METRIC at the horizon,
# baseline, from the engine's finals.csv.
metric_mean() {
  awk -F, -v m="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["variant"] == "baseline" && $col["metric"] == m {
      print $col["mean"], $col["ci_low"], $col["ci_high"] }' "$1/finals.csv"
}

# field LINE NAME: the value of NAME=... in a reference program's output line.
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

scenario_for() {   # scenario_for K T RUNS [--fast]: writes it, prints its path
  local path=$scratch/proxyweb-k$1-t$2-r$3${4:-}.yaml
  [ -f "$path" ] || python3 "$bench_dir/gen_proxyweb.py" "$1" "$2" "$3" 1 ${4:-} >"$path"
  printf '%s\n' "$path"
}

tr_run() {         # tr_run SCENARIO OUT [options]
  local scen=$1 out=$2
  shift 2
  "$binary" run "$scen" -j 1 --quiet --series none -o "$out" "$@"
}

# --- 1. wall time ---------------------------------------------------------------
rows=()
sanity=()
status=0
for size in "16 100 1000" "1000 100 10"; do
  read -r k ticks runs <<<"$size"
  seed=1
  work=$(($(actors "$k") * ticks * runs))
  scenario=$(scenario_for "$k" "$ticks" "$runs")
  fast_scenario=$(scenario_for "$k" "$ticks" "$runs" --fast)
  if ! "$binary" check "$scenario" >"$scratch/check.log" 2>&1; then
    echo "bench: tightrope check failed on the K=$k scenario:" >&2
    cat "$scratch/check.log" >&2
    exit 1
  fi

  best_c= best_l= best_tr= best_f=
  best() { awk -v a="$1" -v b="$2" -v best="$3" 'BEGIN { d = b - a; if (best == "" || d < best) best = d; print best }'; }
  for ((i = 1; i <= repeat; i++)); do
    start=$(now)
    c_line=$("$reference" "$k" "$ticks" "$runs" "$seed")
    stop=$(now)
    best_c=$(best "$start" "$stop" "$best_c")

    start=$(now)
    l_line=$("$plainlua" "$plainlua_script" "$k" "$ticks" "$runs" "$seed")
    stop=$(now)
    best_l=$(best "$start" "$stop" "$best_l")

    out=$scratch/out-k$k
    start=$(now)
    if ! tr_run "$scenario" "$out" >"$scratch/run.log" 2>&1; then
      echo "bench: tightrope run failed on the K=$k scenario:" >&2
      cat "$scratch/run.log" >&2
      exit 1
    fi
    stop=$(now)
    best_tr=$(best "$start" "$stop" "$best_tr")

    start=$(now)
    if ! tr_run "$fast_scenario" "$out-fast" >"$scratch/run.log" 2>&1; then
      echo "bench: tightrope run failed on the K=$k scenario with --fast policies:" >&2
      cat "$scratch/run.log" >&2
      exit 1
    fi
    stop=$(now)
    best_f=$(best "$start" "$stop" "$best_f")
  done
  # The --fast policies draw the same numbers in the same order: same results.
  if ! cmp -s "$out/runs.csv" "$out-fast/runs.csv"; then
    echo "bench: K=$k: the --fast policies' runs.csv differs from the plain policies'" >&2
    status=1
  fi

  rows+=("$(awk -v k="$k" -v t="$ticks" -v r="$runs" -v w="$work" -v c="$best_c" -v l="$best_l" -v e="$best_tr" \
    -v f="$best_f" \
    'BEGIN { printf "K=%-5d T=%d runs=%-5d %11d %8.3f %8.3f %8.3f %8.3f %8.2f %8.2f %8.2f %7.2f %7.2f %7.2f",
             k, t, r, w, c, l, e, f, w / c / 1e6, w / l / 1e6, w / e / 1e6, e / c, e / l, f / c }')")

  # Sanity: the plain-Lua reference draws from the same stream in the same
  # order as the C program, so their means must be equal to the printed
  # digits. tightrope derives run seeds its own way: its means are close, not
  # equal; the C mean should lie within twice the half-width of the engine's
  # 95% interval of its mean.
  for metric in mean_tension mean_capability; do
    read -r mean lo hi <<<"$(metric_mean "$out" "$metric")"
    c_mean=$(field "$c_line" "$metric")
    l_mean=$(field "$l_line" "$metric")
    verdict=$(awk -v e="$mean" -v lo="$lo" -v hi="$hi" -v c="$c_mean" 'BEGIN {
      half = (hi - lo) / 2; d = c - e; if (d < 0) d = -d;
      if (lo == "" || hi == "") print "?"; else print (d <= 2 * half + 1e-9 ? "ok" : "DIFFERS") }')
    lverdict=$([ "$l_mean" = "$c_mean" ] && echo same || echo DIFFERS)
    [ "$verdict" = DIFFERS ] && status=1
    [ "$lverdict" = DIFFERS ] && status=1
    sanity+=("$(printf 'K=%-5d %-16s C %.4f  plain Lua %.4f (%s)  tightrope %.4f [95%% CI %.4f, %.4f] %s' \
      "$k" "$metric" "$c_mean" "$l_mean" "$lverdict" "$mean" "$lo" "$hi" "$verdict")")
  done
done

echo "proxy-web benchmark: one core (tightrope -j 1), wall time of the whole process, best of $repeat"
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "(fast: tightrope with the --fast policies, loops in C: world:nudge, world:sum, rng.pick)"
printf '%-24s %11s %8s %8s %8s %8s %8s %8s %8s %7s %7s %7s\n' size actor_ticks "C s" "Lua s" "tr s" "fast s" \
  "C M/s" "Lua M/s" "tr M/s" "tr/C" "tr/Lua" "fast/C"
printf '%s\n' "${rows[@]}"
echo
echo "sanity: horizon means over runs"
printf '%s\n' "${sanity[@]}"

# --- 2. instructions per actor-tick ---------------------------------------------
# Immune to the machine's load. Start-up, loading and compiling cancel in a
# difference: K = 16 counts runs 20 minus runs 5 (so the per-run setup is
# included), K = 1000 one run of 30 ticks minus one of 10.
if [ "${BENCH_INSTRUCTIONS:-1}" != 0 ] && command -v valgrind >/dev/null; then
  irefs() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
      sed -n 's/.*Collected : *//p'
  }
  per() { awk -v a="$1" -v b="$2" -v w="$3" 'BEGIN { printf "%.0f", (a - b) / w }'; }
  echo
  echo "instructions per actor-tick (valgrind --tool=callgrind; K=16: runs 20 - runs 5, T=100;"
  echo "K=1000: T=30 - T=10, one run)"
  printf '%-8s %10s %10s %10s %10s %8s %8s %8s\n' size C "plain Lua" tightrope "tr fast" "tr/C" "tr/Lua" "fast/C"
  for size in "16 100 20 5" "1000 30 10 1"; do
    read -r k x y z <<<"$size"
    if [ "$k" = 16 ]; then
      work=$(($(actors 16) * 100 * 15))
      c=$(per "$(irefs "$reference" 16 100 20 1)" "$(irefs "$reference" 16 100 5 1)" "$work")
      l=$(per "$(irefs "$plainlua" "$plainlua_script" 16 100 20 1)" \
              "$(irefs "$plainlua" "$plainlua_script" 16 100 5 1)" "$work")
      e=$(per "$(irefs "$binary" run "$(scenario_for 16 100 20)" -j 1 --quiet --series none -o "$scratch/i1")" \
              "$(irefs "$binary" run "$(scenario_for 16 100 5)" -j 1 --quiet --series none -o "$scratch/i2")" "$work")
      f=$(per "$(irefs "$binary" run "$(scenario_for 16 100 20 --fast)" -j 1 --quiet --series none -o "$scratch/i1")" \
              "$(irefs "$binary" run "$(scenario_for 16 100 5 --fast)" -j 1 --quiet --series none -o "$scratch/i2")" "$work")
    else
      work=$(($(actors 1000) * 20))
      c=$(per "$(irefs "$reference" 1000 30 1 1)" "$(irefs "$reference" 1000 10 1 1)" "$work")
      l=$(per "$(irefs "$plainlua" "$plainlua_script" 1000 30 1 1)" \
              "$(irefs "$plainlua" "$plainlua_script" 1000 10 1 1)" "$work")
      e=$(per "$(irefs "$binary" run "$(scenario_for 1000 30 1)" -j 1 --quiet --series none -o "$scratch/i1")" \
              "$(irefs "$binary" run "$(scenario_for 1000 10 1)" -j 1 --quiet --series none -o "$scratch/i2")" "$work")
      f=$(per "$(irefs "$binary" run "$(scenario_for 1000 30 1 --fast)" -j 1 --quiet --series none -o "$scratch/i1")" \
              "$(irefs "$binary" run "$(scenario_for 1000 10 1 --fast)" -j 1 --quiet --series none -o "$scratch/i2")" "$work")
    fi
    printf 'K=%-6s %10s %10s %10s %10s %8.2f %8.2f %8.2f\n' "$k" "$c" "$l" "$e" "$f" \
      "$(awk -v a="$e" -v b="$c" 'BEGIN { print a / b }')" "$(awk -v a="$e" -v b="$l" 'BEGIN { print a / b }')" \
      "$(awk -v a="$f" -v b="$c" 'BEGIN { print a / b }')"
  done
else
  echo
  echo "instructions per actor-tick: skipped (no valgrind, or BENCH_INSTRUCTIONS=0)"
fi

# --- 3. cost per actor-tick against the number of actors -------------------------
# CPU time of 25 ticks minus 5 ticks, over the 20 ticks' actor-ticks: start-up,
# loading and each run's setup cancel. The same work at each size: 10,000 / K
# runs (so about 275,000 actor-ticks).
echo
echo "cost per actor-tick against actors: CPU(T=25) - CPU(T=5), 10000/K runs, best of $repeat"
printf '%-8s %8s %14s %8s %14s %8s %14s %8s\n' K actors "tr ns/a-tick" "vs K=100" "fast ns/a-tick" \
  "vs K=100" "Lua ns/a-tick" "vs K=100"
ref_tr= ref_f= ref_l=
# cost_of CMD25 CMD5: ns per actor-tick of the difference (uses n, r)
cost_of() { awk -v a="$1" -v b="$2" -v w=$((n * 20 * r)) 'BEGIN { printf "%.0f", (a - b) / w * 1e9 }'; }
for k in 100 1000 10000; do
  n=$(actors "$k")
  r=$((10000 / k))
  best_tr= best_f= best_l=
  for ((i = 1; i <= repeat; i++)); do
    d=$(cost_of "$(cpu "$binary" run "$(scenario_for "$k" 25 "$r")" -j 1 --quiet --series none -o "$scratch/s1")" \
                "$(cpu "$binary" run "$(scenario_for "$k" 5 "$r")" -j 1 --quiet --series none -o "$scratch/s2")")
    [ -z "$best_tr" ] || [ "$d" -lt "$best_tr" ] && best_tr=$d
    d=$(cost_of "$(cpu "$binary" run "$(scenario_for "$k" 25 "$r" --fast)" -j 1 --quiet --series none -o "$scratch/s1f")" \
                "$(cpu "$binary" run "$(scenario_for "$k" 5 "$r" --fast)" -j 1 --quiet --series none -o "$scratch/s2f")")
    [ -z "$best_f" ] || [ "$d" -lt "$best_f" ] && best_f=$d
    d=$(cost_of "$(cpu "$plainlua" "$plainlua_script" "$k" 25 "$r" 1)" "$(cpu "$plainlua" "$plainlua_script" "$k" 5 "$r" 1)")
    [ -z "$best_l" ] || [ "$d" -lt "$best_l" ] && best_l=$d
  done
  [ -z "$ref_tr" ] && ref_tr=$best_tr && ref_f=$best_f && ref_l=$best_l
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0 ? a / b : 0) }'; }
  printf 'K=%-6s %8s %14s %8.2f %14s %8.2f %14s %8.2f\n' "$k" "$n" "$best_tr" "$(ratio "$best_tr" "$ref_tr")" \
    "$best_f" "$(ratio "$best_f" "$ref_f")" "$best_l" "$(ratio "$best_l" "$ref_l")"
done

# --- 3b. memory traffic per actor-tick against actors ------------------------------
# What makes the cost per actor-tick grow with the actor count is the memory
# hierarchy, and CPU times on a shared machine are noisy. valgrind's cachegrind
# counts, independently of the load, the data reads that miss a simulated
# last-level cache of 2 MiB (this machine's L2 per core; each miss costs a trip
# to L3 or memory). Per actor-tick: T2 ticks minus T1 ticks of one run.
if [ "${BENCH_INSTRUCTIONS:-1}" != 0 ] && [ "${BENCH_CACHE:-1}" != 0 ] && command -v valgrind >/dev/null; then
  llmiss() {   # llmiss CMD...: last-level data read misses
    valgrind --tool=cachegrind --cache-sim=yes --D1=49152,12,64 --LL=2097152,16,64 \
      --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
      awk '/LLd misses/ { gsub(",", "", $4); print $4 }'
  }
  echo
  echo "last-level (2 MiB) data misses per actor-tick (valgrind --tool=cachegrind; one run, T2 - T1 ticks)"
  printf '%-8s %8s %7s %8s %10s %10s %10s\n' K actors "T2-T1" C "plain Lua" tightrope "tr fast"
  for size in "100 100 20" "1000 30 10" "10000 12 4"; do
    read -r k t2 t1 <<<"$size"
    work=$(($(actors "$k") * (t2 - t1)))
    d() { awk -v a="$1" -v b="$2" -v w="$work" 'BEGIN { printf "%.2f", (a - b) / w }'; }
    c=$(d "$(llmiss "$reference" "$k" "$t2" 1 1)" "$(llmiss "$reference" "$k" "$t1" 1 1)")
    l=$(d "$(llmiss "$plainlua" "$plainlua_script" "$k" "$t2" 1 1)" \
          "$(llmiss "$plainlua" "$plainlua_script" "$k" "$t1" 1 1)")
    e=$(d "$(llmiss "$binary" run "$(scenario_for "$k" "$t2" 1)" -j 1 --quiet --series none -o "$scratch/c1")" \
          "$(llmiss "$binary" run "$(scenario_for "$k" "$t1" 1)" -j 1 --quiet --series none -o "$scratch/c2")")
    f=$(d "$(llmiss "$binary" run "$(scenario_for "$k" "$t2" 1 --fast)" -j 1 --quiet --series none -o "$scratch/c1f")" \
          "$(llmiss "$binary" run "$(scenario_for "$k" "$t1" 1 --fast)" -j 1 --quiet --series none -o "$scratch/c2f")")
    printf 'K=%-6s %8s %7s %8s %10s %10s %10s\n' "$k" "$(actors "$k")" "$((t2 - t1))" "$c" "$l" "$e" "$f"
  done
fi

# --- 4. Lua heap per actor and relation --------------------------------------------
# TIGHTROPE_BENCH_HEAP makes the engine print its worker's live Lua heap (after
# a full collection) once every policy's top level has run (views,
# environments, script instances) and at the end of tick 1 (after every init:
# the policies' own tables too). The difference between K = 1000 and K = 100,
# over the difference in actors plus relations, is the heap each one costs:
# with the plain policies (an instance per actor) and with the fast ones (one
# shared instance per policy, docs/lua-api.md "Shared instances").
echo
echo "Lua heap per actor or relation (K=1000 minus K=100, one worker's state, live after a full collection)"
heap() {   # heap K [--fast]: "loaded_kb tick1_kb"
  TIGHTROPE_BENCH_HEAP=1 "$binary" run "$(scenario_for "$1" 2 1 ${2:-})" -j 1 --quiet --series none \
    -o "$scratch/h" 2>&1 |
    awk -F= '/heap_kb_loaded/ { l = $2 } /heap_kb_tick1/ { t = $2 } END { print l, t }'
}
units=$(( ($(actors 1000) + 2000) - ($(actors 100) + 200) ))
printf '  %-38s %8s %8s\n' policies loaded "tick 1"
for fast in "" --fast; do
  read -r l1 t1 <<<"$(heap 100 $fast)"
  read -r l2 t2 <<<"$(heap 1000 $fast)"
  if [ -z "$l1" ] || [ -z "$l2" ] || [ -z "$t1" ] || [ -z "$t2" ]; then
    echo "  not measured: the binary printed no heap size (TIGHTROPE_BENCH_HEAP)"
    exit $status
  fi
  awk -v l1="$l1" -v l2="$l2" -v t1="$t1" -v t2="$t2" -v u="$units" \
    -v what="${fast:+fast (one shared instance per policy)}" 'BEGIN {
    if (what == "") what = "plain (an instance per actor)"
    printf "  %-38s %8.0f %8.0f  bytes\n", what, (l2 - l1) * 1024 / u, (t2 - t1) * 1024 / u }'
done
exit $status
