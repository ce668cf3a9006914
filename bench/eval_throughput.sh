#!/usr/bin/env bash
# Throughput on the full CIFAR-10 test set (10,000 images), fp32 and int8, for
# tinyq and its peers on the same files, with ratios to tinyq fp32 on 2 threads.
# Usage: bench/eval_throughput.sh [MODEL]   (build first: scripts/test.sh or scripts/demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
tinyq=build/src/tinyq
[ -x "$tinyq" ] || { echo "build tinyq first (cmake --build build)" >&2; exit 1; }
assets=${TINYQ_ASSETS:-../shared}
model=${1:-$assets/models/pretrainedResnet.h5}
test_batch=$assets/data/cifar-10-batches-bin/test_batch.bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stem=$(basename "${model%.*}")
"$tinyq" convert "$model" --out "$tmp" > /dev/null
"$tinyq" quantize "$model" --out "$tmp/int8.onnx" --format qop > /dev/null

rows=()
tinyq_ips() {  # model threads [extra]
  "$tinyq" eval "$1" --threads "$2" --json "$tmp/r.json" > /dev/null
  /usr/bin/python3 -c "import json; print(json.load(open('$tmp/r.json'))['images_per_second'])"
}
rows+=("tinyq fp32|1|$(tinyq_ips "$model" 1)")
rows+=("tinyq fp32|2|$(tinyq_ips "$model" 2)")
rows+=("tinyq int8 (integer engine)|2|$(tinyq_ips "$tmp/int8.onnx" 2)")
ort_ips() { node tests/peers/ort_run.mjs "$1" "$test_batch" "$tmp/o.npy" | sed -E 's/.*\(([0-9.]+) \/s\).*/\1/'; }
rows+=("onnxruntime fp32|2|$(ort_ips "$tmp/$stem.onnx")")
rows+=("onnxruntime int8 (same file)|2|$(ort_ips "$tmp/int8.onnx")")
torch_out=$(/usr/bin/python3 tests/peers/torch_run.py "$tmp" "$stem" "$test_batch" "$tmp/t" --threads 2)
ts=$(echo "$torch_out" | sed -nE 's/.*torchscript: [0-9]+ inputs in ([0-9.]+) s/\1/p')
rows+=("pytorch fp32 (TorchScript)|2|$(/usr/bin/python3 -c "print(10000 / $ts)")")

base=$(echo "${rows[1]}" | cut -d'|' -f3)
printf '%-30s %8s %12s %22s\n' "engine" "threads" "images/s" "vs tinyq fp32, 2 thr."
for row in "${rows[@]}"; do
  IFS='|' read -r name threads ips <<< "$row"
  /usr/bin/python3 -c "import sys; n,t,i,b=sys.argv[1:]; print(f'{n:<30} {t:>8} {float(i):12.1f} {float(i)/float(b):21.2f}x')" "$name" "$threads" "$ips" "$base"
done
