#!/usr/bin/env bash
# scale.sh — the scaling figures: runs per second over threads and MPI ranks,
# peak memory against the number of runs, and the cost of one actor-tick
# against the number of actors. `make bench` runs it after run.sh.
#
#   bench/scale.sh BINARY [MPI_BINARY]   e.g. bench/scale.sh build/tightrope build-mpi/tightrope
#
# Prints figures only; asserts nothing about time (a shared machine is
# noisy). Environment: BENCH_REPEAT (default 3, best wall time counts),
# BENCH_RUNS (default 200: runs per variant for the runs-per-second part;
# doha.yaml has a baseline and 5 variants, so 1200 runs in all),
# BENCH_INSTRUCTIONS=1 (also count instructions per actor-tick with
# valgrind's cachegrind — slow, a few minutes, but immune to machine load).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bench/scale.sh BINARY [MPI_BINARY]" >&2
  exit 2
fi
bench_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench_dir")
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
binary=$(abs "$1")
mpi_binary=$(abs "${2:-$root/build-mpi/tightrope}")
if [ ! -x "$binary" ]; then
  echo "bench: $binary is not an executable (run make first)" >&2
  exit 2
fi
repeat=${BENCH_REPEAT:-3}
runs=${BENCH_RUNS:-200}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tightrope-scale.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# measure CMD...: "WALL CPU PEAK_KB" of one run of CMD: wall seconds, CPU
# seconds (user + system, its children included: mpirun's ranks) and peak
# resident set (largest single process) from its own rusage.
measure() {
  python3 -c 'import os, subprocess, sys, time
t = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "w"))
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t
if os.waitstatus_to_exitcode(status): sys.exit(1)
print(f"{wall:.3f} {ru.ru_utime + ru.ru_stime:.3f} {ru.ru_maxrss}")' "$scratch/cmd.log" "$@" || {
    echo "bench: failed: $*" >&2
    cat "$scratch/cmd.log" >&2
    kill $$   # measure runs in a command substitution: stop the whole script
  }
}
# best_of FIELD CMD...: the "WALL CPU PEAK_KB" line of BENCH_REPEAT runs of
# CMD with the smallest FIELD (1 wall, 2 CPU).
best_of() {
  local field=$1 best= line
  shift
  for ((i = 1; i <= repeat; i++)); do
    line=$(measure "$@")
    best=$(printf '%s\n%s\n' "$best" "$line" | awk -v f="$field" 'NF { if (b == "" || $f < v) { b = $0; v = $f } } END { print b }')
  done
  printf '%s\n' "$best"
}

echo "tightrope scale benchmark on $(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo

# --- 1. runs per second: threads and MPI ranks --------------------------------
scenario=$root/scenarios/doha.yaml
label="scenarios/doha.yaml, -n $runs per variant"
if [ ! -f "$scenario" ]; then
  ln -s "$bench_dir/proxyweb" "$scratch/proxyweb"
  scenario=$scratch/proxyweb-k16.yaml
  python3 "$bench_dir/gen_proxyweb.py" 16 100 "$runs" 1 >"$scenario"
  label="proxy-web K=16 T=100, -n $runs"
fi
out=$scratch/rps
"$binary" run "$scenario" -n "$runs" -j 1 --quiet -o "$out-ref" >/dev/null 2>&1
total=$(($(wc -l <"$out-ref/runs.csv") - 1))
echo "runs per second: $label ($total runs), --series summary, best wall time of $repeat"
printf '  %-44s %8s %8s %8s  %s\n' how "wall s" "CPU s" "runs/s" "same CSVs as -j 1"
same() {   # same OUTDIR: do its CSVs equal the reference's?
  local f
  for f in "$out-ref"/*.csv; do cmp -s "$f" "$1/$(basename "$f")" || { echo DIFFER; return; }; done
  echo yes
}
row() {    # row LABEL OUTDIR "WALL CPU KB"
  local wall cpu kb
  read -r wall cpu kb <<<"$3"
  printf '  %-44s %8.2f %8.2f %8.1f  %s\n' "$1" "$wall" "$cpu" \
    "$(awk -v n="$total" -v s="$wall" 'BEGIN { print n / s }')" "$(same "$2")"
}
for j in 1 2; do
  row "one process, -j $j" "$out-j$j" \
    "$(best_of 1 "$binary" run "$scenario" -n "$runs" -j "$j" --quiet -o "$out-j$j")"
done
mpirun_cmd=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && mpirun_cmd+=(--allow-run-as-root)
if command -v mpirun >/dev/null && [ -x "$mpi_binary" ]; then
  row "mpirun -np 2, -j 1 per rank" "$out-np2" \
    "$(best_of 1 "${mpirun_cmd[@]}" -np 2 "$mpi_binary" run "$scenario" -n "$runs" -j 1 --quiet -o "$out-np2")"
  row "  same, --mca mpi_yield_when_idle 1" "$out-np2y" \
    "$(best_of 1 "${mpirun_cmd[@]}" --mca mpi_yield_when_idle 1 -np 2 "$mpi_binary" run "$scenario" \
       -n "$runs" -j 1 --quiet -o "$out-np2y")"
  row "mpirun -np 1 (start-up cost of mpirun)" "$out-np1" \
    "$(best_of 1 "${mpirun_cmd[@]}" -np 1 "$mpi_binary" run "$scenario" -n "$runs" -j 1 --quiet -o "$out-np1")"
else
  echo "  mpirun -np 2: skipped (no mpirun or no MPI build at $mpi_binary; make MPI=1)"
fi
echo "  (CPU s includes every rank; a rank waiting for MPI messages polls, which costs CPU)"
echo

# --- 2. peak memory against runs ------------------------------------------------
python3 "$bench_dir/gen_scale.py" tiny "$scratch"
echo "peak memory: one actor, 3 metrics, 40 ticks, --series summary, -j 2"
printf '  %-10s %12s %12s %8s  %s\n' runs "peak RSS kB" "vs 10^3 runs" "wall s" "series_quantiles (manifest)"
base=
for n in 1000 10000 100000; do
  read -r wall _ kb <<<"$(measure "$binary" run "$scratch/tiny.yaml" -n "$n" -j 2 --quiet -o "$scratch/mem$n")"
  [ -z "$base" ] && base=$kb
  q=$(sed -n 's/^ *series_quantiles: //p' "$scratch/mem$n/manifest.yaml")
  printf '  %-10s %12s %12.2f %8.2f  %s\n' "$n" "$kb" "$(awk -v a="$kb" -v b="$base" 'BEGIN { print a / b }')" \
    "$wall" "$q"
done
echo

# --- 3. cost per actor-tick against actors ---------------------------------------
# The same work (N x runs = 20,000 actor-runs, 100 extra ticks) at each size;
# the difference between 105 and 5 ticks cancels start-up, loading and the
# per-run setup, leaving the tick loop: policy calls, view reads, a relation
# lookup, a buffered write, the shuffle, the metric. CPU time, not wall time,
# so that other load on the machine disturbs the figures less.
echo "cost per actor-tick: constant-work policy (2 own reads, 1 relation lookup and read,"
echo "1 buffered write), -j 1, --series none, (CPU(105 ticks) - CPU(5 ticks)) / actor-ticks, best of $repeat"
printf '  %-8s %-6s %12s %14s %8s %12s\n' actors runs "actor-ticks" "ns/actor-tick" "vs 10" "peak RSS kB"
ref_ns=
for n in 10 1000 10000; do
  r=$((20000 / n))
  for t in 5 105; do python3 "$bench_dir/gen_scale.py" ring "$scratch" "$n" "$t" "$r"; done
  read -r _ c5 _ <<<"$(best_of 2 "$binary" run "$scratch/ring-$n-5.yaml" -j 1 --quiet --series none -o "$scratch/ring")"
  read -r _ c105 kb <<<"$(best_of 2 "$binary" run "$scratch/ring-$n-105.yaml" -j 1 --quiet --series none -o "$scratch/ring")"
  work=$((n * r * 100))
  ns=$(awk -v a="$c5" -v b="$c105" -v w="$work" 'BEGIN { printf "%.0f", (b - a) / w * 1e9 }')
  [ -z "$ref_ns" ] && ref_ns=$ns
  printf '  %-8s %-6s %12s %14s %8.2f %12s\n' "$n" "$r" "$work" "$ns" \
    "$(awk -v a="$ns" -v b="$ref_ns" 'BEGIN { print a / b }')" "$kb"
done

# Instructions per actor-tick (optional): the same difference of two tick
# counts, in instructions counted by cachegrind. Equal counts at 1,000 and
# 10,000 actors mean no step grows with the number of actors; a higher time
# per actor-tick at 10,000 is then the memory hierarchy (a larger state).
if [ "${BENCH_INSTRUCTIONS:-0}" = 1 ]; then
  if ! command -v valgrind >/dev/null; then
    echo "instructions per actor-tick: skipped (no valgrind)"
    exit 0
  fi
  irefs() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
      sed -n 's/.*I *refs: *//p' | tr -d ,
  }
  echo
  echo "instructions per actor-tick (cachegrind; ticks 25 minus ticks 5, N x runs = 10,000)"
  printf '  %-8s %-6s %14s\n' actors runs "instr/actor-tick"
  for n in 10 1000 10000; do
    r=$((10000 / n))
    for t in 5 25; do python3 "$bench_dir/gen_scale.py" ring "$scratch" "$n" "$t" "$r"; done
    i5=$(irefs "$binary" run "$scratch/ring-$n-5.yaml" -j 1 --quiet --series none -o "$scratch/ring")
    i25=$(irefs "$binary" run "$scratch/ring-$n-25.yaml" -j 1 --quiet --series none -o "$scratch/ring")
    printf '  %-8s %-6s %14.0f\n' "$n" "$r" "$(awk -v a="$i5" -v b="$i25" -v w=$((n * r * 20)) 'BEGIN { print (b - a) / w }')"
  done
fi
