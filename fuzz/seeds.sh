#!/usr/bin/env bash
# seeds.sh OUTDIR — the fuzzers' seeds derived from the repository, made
# fresh by `make fuzz` instead of kept as copies: OUTDIR/scenario/ gets every
# scenario and hostile case file, OUTDIR/script/ every policy and action
# script, each behind the harness's kind byte (fuzz_script.c: 1 policy,
# 2 action). Hand-written seeds (expressions, event snippets) stay in
# fuzz/corpus/.
set -euo pipefail
out=$1
root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out"
mkdir -p "$out/scenario" "$out/script"
for f in "$root"/scenarios/*.yaml; do
  cp "$f" "$out/scenario/scenarios_$(basename "$f")"
done
for d in "$root"/tests/hostile/*/; do
  name=$(basename "$d")
  [ -f "$d/case.yaml" ] && cp "$d/case.yaml" "$out/scenario/tests_hostile_${name}.yaml"
  for f in "$d"*.lua; do
    [ -f "$f" ] || continue
    if grep -q "function apply" "$f"; then kind='\002'; else kind='\001'; fi
    { printf "$kind"; cat "$f"; } > "$out/script/${name}_$(basename "$f")"
  done
done
for f in "$root"/scripts/policies/*.lua "$root"/scripts/textbook/*.lua; do
  { printf '\001'; cat "$f"; } > "$out/script/policy_$(basename "$f")"
done
