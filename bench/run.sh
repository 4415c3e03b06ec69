#!/usr/bin/env bash
# run.sh — the proxy-web benchmark: tightrope against the same model
# hand-written in C with GSL, on one core. `make bench` runs it.
#
#   bench/run.sh BINARY        e.g. bench/run.sh build/tightrope
#
# Environment: BENCH_REPEAT (default 3): each program runs this many times
# per size and the fastest wall time counts. What is measured and how to
# read the figures: bench/README.md.
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

# The C yardstick, built the same way every time.
mkdir -p "$root/build/bench"
reference=$root/build/bench/proxyweb-c
cc -O2 "$bench_dir/proxyweb.c" $(pkg-config --cflags --libs gsl) -o "$reference"

# Scenarios live in a scratch folder; a link makes their script paths
# (proxyweb/*.lua) resolve relative to the scenario's folder (SPEC §3.5).
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tightrope-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
ln -s "$bench_dir/proxyweb" "$scratch/proxyweb"

now() { date +%s.%N; }

# actor_ticks K T RUNS: (K + P + M + 1) * T * RUNS, P = max(1, K/4), M = max(1, K/8).
actor_ticks() {
  awk -v k="$1" -v t="$2" -v r="$3" 'BEGIN {
    p = int(k / 4); if (p < 1) p = 1; m = int(k / 8); if (m < 1) m = 1;
    printf "%d", (k + p + m + 1) * t * r }'
}

# metric_mean OUT METRIC: "mean ci_low ci_high" of METRIC at the horizon,
# baseline, from the engine's finals.csv.
metric_mean() {
  awk -F, -v m="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["variant"] == "baseline" && $col["metric"] == m {
      print $col["mean"], $col["ci_low"], $col["ci_high"] }' "$1/finals.csv"
}

# c_field LINE NAME: the value of NAME=... in the C version's output line.
c_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

rows=()
sanity=()
status=0
for size in "16 100 1000" "1000 100 10"; do
  read -r k ticks runs <<<"$size"
  seed=1
  work=$(actor_ticks "$k" "$ticks" "$runs")
  scenario=$scratch/proxyweb-k$k.yaml
  python3 "$bench_dir/gen_proxyweb.py" "$k" "$ticks" "$runs" "$seed" >"$scenario"
  if ! "$binary" check "$scenario" >"$scratch/check.log" 2>&1; then
    echo "bench: tightrope check failed on the K=$k scenario:" >&2
    cat "$scratch/check.log" >&2
    exit 1
  fi

  best_c=
  best_tr=
  for ((i = 1; i <= repeat; i++)); do
    start=$(now)
    c_line=$("$reference" "$k" "$ticks" "$runs" "$seed")
    stop=$(now)
    best_c=$(awk -v a="$start" -v b="$stop" -v best="$best_c" \
      'BEGIN { d = b - a; if (best == "" || d < best) best = d; print best }')

    out=$scratch/out-k$k
    start=$(now)
    if ! "$binary" run "$scenario" -j 1 --quiet --series none -o "$out" \
        >"$scratch/run.log" 2>&1; then
      echo "bench: tightrope run failed on the K=$k scenario:" >&2
      cat "$scratch/run.log" >&2
      exit 1
    fi
    stop=$(now)
    best_tr=$(awk -v a="$start" -v b="$stop" -v best="$best_tr" \
      'BEGIN { d = b - a; if (best == "" || d < best) best = d; print best }')
  done

  rows+=("$(awk -v k="$k" -v t="$ticks" -v r="$runs" -v w="$work" -v c="$best_c" -v e="$best_tr" \
    'BEGIN { printf "K=%-5d T=%d runs=%-5d %12d %9.3f %9.2f %9.3f %9.3f   %.4f",
             k, t, r, w, c, w / c / 1e6, e, w / e / 1e6, c / e }')")

  # Sanity: the horizon means of both should agree within sampling noise
  # (different random streams, so not exactly): the C mean should lie
  # within twice the half-width of the engine's 95% interval of its mean.
  for metric in mean_tension mean_capability; do
    read -r mean lo hi <<<"$(metric_mean "$out" "$metric")"
    c_mean=$(c_field "$c_line" "$metric")
    verdict=$(awk -v e="$mean" -v lo="$lo" -v hi="$hi" -v c="$c_mean" 'BEGIN {
      half = (hi - lo) / 2; d = c - e; if (d < 0) d = -d;
      if (lo == "" || hi == "") print "?"; else print (d <= 2 * half + 1e-9 ? "ok" : "DIFFERS") }')
    [ "$verdict" = DIFFERS ] && status=1
    sanity+=("$(printf 'K=%-5d %-16s C %.4f   tightrope %.4f  [95%% CI %.4f, %.4f]  %s' \
      "$k" "$metric" "$c_mean" "$mean" "$lo" "$hi" "$verdict")")
  done
done

echo "proxy-web benchmark: one core (tightrope -j 1), wall time, best of $repeat"
printf '%-24s %12s %9s %9s %9s %9s   %s\n' size actor_ticks "C s" "C M/s" "tr s" "tr M/s" "tightrope/C"
printf '%s\n' "${rows[@]}"
echo
echo "sanity: horizon means over runs (different random streams: close, not equal)"
printf '%s\n' "${sanity[@]}"
exit $status
