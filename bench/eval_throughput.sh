#!/usr/bin/env bash
# fp32 throughput of `tinyq eval` on the full CIFAR-10 test set (10,000
# images), at 1 and 2 threads, with the ratio between them.
# Usage: bench/eval_throughput.sh [MODEL]   (build first: scripts/test.sh or scripts/demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
tinyq=build/src/tinyq
[ -x "$tinyq" ] || { echo "build tinyq first (cmake --build build)" >&2; exit 1; }
model=${1:-${TINYQ_ASSETS:-../shared}/models/pretrainedResnet.h5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%-28s %8s %12s %10s %8s\n' "engine" "threads" "images/s" "accuracy" "ratio"
for threads in 1 2; do
  "$tinyq" eval "$model" --threads "$threads" --json "$tmp/t$threads.json" > /dev/null
  /usr/bin/python3 - "$tmp/t1.json" "$tmp/t$threads.json" "$threads" <<'PY'
import json, sys
base, run = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{'tinyq fp32 (reference)':<28} {sys.argv[3]:>8} {run['images_per_second']:12.1f} {run['accuracy']:9.2f}% "
      f"{run['images_per_second'] / base['images_per_second']:7.2f}x")
PY
done
