#!/usr/bin/env bash
# run-flagship.sh BINARY — what `make run` does after building: run the
# flagship scenario (scenarios/doha.yaml, 1000 runs per variant) and print
# where the results went and the outcome shares with their 95% Clopper-Pearson
# intervals, per variant. The values are illustrative, not forecasts.
set -euo pipefail
bin=${1:-build/tightrope}
cd "$(dirname "$0")/.."
scenario=scenarios/doha.yaml
runs=1000
id=$(sed -n 's/^scenario:[[:space:]]*\([a-z0-9_-]*\).*/\1/p' "$scenario" | head -n 1)
out=results/$id
echo "tightrope: running $scenario ($runs runs per variant) -> $out"
"$bin" run "$scenario" -o "$out" -n "$runs"
python3 - "$out" <<'PY'
import csv, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "outcomes.csv"))))
print()
print(f"{'variant':<24} {'outcome':<16} {'share':>7}   95% interval")
last = None
for r in rows:
    v = r["variant"] if r["variant"] != last else ""
    last = r["variant"]
    print(f"{v:<24} {r['outcome']:<16} {float(r['share']):7.3f}   "
          f"[{float(r['ci_low']):.3f}, {float(r['ci_high']):.3f}]")
print()
print("results: " + ", ".join(sorted(f for f in os.listdir(out) if not f.startswith("."))))
print(f"in {os.path.abspath(out)}")
PY
