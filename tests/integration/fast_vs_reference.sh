#!/usr/bin/env bash
# Whole model: the fast kernels (--kernels auto) against the reference kernels
# (--kernels reference, the executable spec) on all 10,000 test images.
#   - int8: the logits (last quantized tensor) equal element for element, for
#     the peer tests' schemes (MinMax per-tensor QDQ, Entropy per-channel
#     QOperator, MinMax per-channel with s8 activations as QOperator) in both
#     requantization modes. (An s8 QDQ file keeps its convolutions in float, as
#     ONNX Runtime runs it: there the fast float kernels follow ONNX Runtime's
#     summation order and the reference loops their own, so it is not listed.)
#   - fp32: outputs within 1e-5 and the same top-1 everywhere.
# Usage: fast_vs_reference.sh TINYQ MODEL TEST_BATCH WORK_DIR
set -euo pipefail
tinyq=$1 model=$2 test_batch=$3 work=$4
peers=$(cd "$(dirname "$0")/../peers" && pwd)
python=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work"
status=0
for scheme in "minmax_per_tensor_qdq --method minmax --format qdq" "entropy_per_channel_qop --method entropy --per-channel --format qop" \
              "minmax_per_channel_s8_qop --method minmax --per-channel --act s8 --format qop"; do
  set -- $scheme
  name=$1
  shift
  f="$work/$name"
  "$tinyq" quantize "$model" --out "$f.onnx" "$@" > /dev/null
  $python "$peers/expose_tensors.py" "$f.onnx" "$f.exposed.onnx" | tail -n 1 > "$f.logits"
  for requant in float fixed; do
    for kernels in auto reference; do
      "$tinyq" run "$f.onnx" --input "$test_batch" --requant "$requant" --kernels "$kernels" \
        --out-dir "$f.$requant.$kernels" --tensor "$(cat "$f.logits")" > /dev/null
    done
    $python "$peers/compare_quantized.py" "$name $requant requant: fast vs reference, 10000 images" \
      "$f.$requant.auto" "$f.$requant.reference" "$f.logits" || status=1
  done
done
"$tinyq" eval "$model" --kernels auto --dump-outputs "$work/fp32_auto.npy" > /dev/null
"$tinyq" eval "$model" --kernels reference --dump-outputs "$work/fp32_reference.npy" > /dev/null
$python "$peers/compare_outputs.py" "fp32 fast vs reference" "$work/fp32_auto.npy" "$work/fp32_reference.npy" --max-abs 1e-5 || status=1
exit $status
