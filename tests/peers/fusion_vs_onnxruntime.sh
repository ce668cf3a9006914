#!/usr/bin/env bash
# Which layers of a QDQ file run as fused integer ops and which stay in float:
# tinyq's fuse_qdq against the graph ONNX Runtime builds for the same file,
# for u8 and s8 activations. It does not depend on the CPU (unlike the
# as-written output comparison of quantized_vs_onnxruntime.sh, which needs
# VNNI for s8), so the rules are checked on every machine.
# Usage: fusion_vs_onnxruntime.sh TINYQ MODEL WORK_DIR
set -euo pipefail
tinyq=$1 model=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
status=0
while read -r name flags; do
  f="$work/$name"
  # shellcheck disable=SC2086
  "$tinyq" quantize "$model" --out "$f.onnx" --calib-count 200 $flags > /dev/null
  "$tinyq" ops "$f.onnx" --json "$f.ops.json" > /dev/null
  node "$here/ort_optimized.mjs" "$f.onnx" "$f.ort.onnx" 2> /dev/null
  /usr/bin/python3 "$here/fusion_check.py" "$f.ort.onnx" "$f.ops.json" "$name" || status=1
done <<'SCHEMES'
minmax_per_tensor_u8 --method minmax
minmax_per_channel_s8 --method minmax --per-channel --act s8
entropy_per_tensor_s8 --method entropy --act s8
minmax_per_tensor_s8_symmetric --method minmax --act s8 --symmetric-act
SCHEMES
exit $status
