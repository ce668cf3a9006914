#!/usr/bin/env bash
# tinyq's integer engine (float requantization) against ONNX Runtime on one
# quantization scheme, in both file formats:
#   - every quantized activation on the first 500 test images, element for element;
#   - the last quantized tensor (u8 logits before the final DequantizeLinear)
#     on all 10,000 test images, which also fixes every top-1 prediction.
# Usage: quantized_vs_onnxruntime.sh TINYQ MODEL TEST_BATCH WORK_DIR -- QUANTIZE_FLAGS...
set -euo pipefail
tinyq=$1 model=$2 test_batch=$3 work=$4
shift 4
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
# ONNX Runtime's u8 x s8 kernels on x86 without VNNI (AVX2 only, e.g. AMD Zen 3)
# use vpmaddubsw, whose 16-bit pair sums saturate when both activations are
# large (|255*127*2| > 32767): its results are then not the exact integer
# arithmetic ONNX specifies (ONNX Runtime's quantization docs recommend
# reduce_range there). tinyq is exact; to compare on such a machine, u8
# activations get 7 bits (--reduce-range), which rules the saturation out.
# (s8 activations: ONNX Runtime's x86 build runs the QDQ Conv in float and its
# QLinearConv s8 x s8 kernel is exact here, so those schemes run as given.)
is_s8=$(printf '%s\n' "$@" | grep -A1 -x -- '--act' | grep -cx s8 || true)
if [ "$is_s8" = 0 ] && ! grep -qwE 'avx512_vnni|avx_vnni' /proc/cpuinfo && ! printf '%s\n' "$@" | grep -qx -- '--reduce-range'; then
  echo "this CPU has no VNNI: ONNX Runtime's u8 x s8 kernels saturate, so this test quantizes with --reduce-range"
  set -- "$@" --reduce-range
fi
rm -rf "$work" && mkdir -p "$work"
head -c $((3073 * 500)) "$test_batch" > "$work/test500.bin"
status=0
for format in qdq qop; do
  f="$work/$format"
  "$tinyq" quantize "$model" --out "$f.onnx" --format "$format" "$@" > "$f.quantize.txt"
  $python "$here/expose_tensors.py" "$f.onnx" "$f.exposed.onnx" > "$f.names"
  node "$here/ort_run.mjs" "$f.exposed.onnx" "$work/test500.bin" "$f.ort500" --outputs "$(paste -sd, "$f.names")"
  # Both engines run the exposed file: exposing a tensor as a graph output
  # changes what ONNX Runtime fuses (an exposed s8 Q/DQ pair is not turned
  # into u8), and tinyq follows the same rules, so like must meet like.
  "$tinyq" run "$f.exposed.onnx" --input "$work/test500.bin" --out-dir "$f.tinyq500" $(sed 's/^/--tensor /' "$f.names")
  min_equal=100
  if [ "$is_s8" != 0 ] && [ "$format" = qop ] && grep -qwE 'avx512_vnni|avx_vnni' /proc/cpuinfo; then
    echo "known gap (docs/quantization.md): ONNX Runtime's VNNI s8 x s8 QLinearConv rounds about 1 in 1e4-1e6 values differently; held to 99.99%"
    min_equal=99.99
  fi
  $python "$here/compare_quantized.py" "$format layers" "$f.tinyq500" "$f.ort500" "$f.names" --min-equal "$min_equal" || status=1
  logits=$(tail -n 1 "$f.names")
  echo "$logits" > "$f.logits"
  node "$here/ort_run.mjs" "$f.exposed.onnx" "$test_batch" "$f.ort_all" --outputs "$logits"
  "$tinyq" run "$f.exposed.onnx" --input "$test_batch" --out-dir "$f.tinyq_all" --tensor "$logits"
  $python "$here/compare_quantized.py" "$format logits, 10000 images" "$f.tinyq_all" "$f.ort_all" "$f.logits" --min-equal "$min_equal" || status=1
  # The file as users run it (nothing exposed): the model outputs, where ONNX
  # Runtime's own arithmetic is exact (VNNI, or u8 with --reduce-range).
  if [ "$is_s8" = 0 ] || [ "$format" = qop ] || grep -qwE 'avx512_vnni|avx_vnni' /proc/cpuinfo; then
    node "$here/ort_run.mjs" "$f.onnx" "$test_batch" "$f.ort_plain.npy" > /dev/null
    "$tinyq" eval "$f.onnx" --data "$(dirname "$test_batch")" --dump-outputs "$f.tinyq_plain.npy" > /dev/null
    $python "$here/compare_outputs.py" "$format as written, 10000 images" "$f.tinyq_plain.npy" "$f.ort_plain.npy" --max-abs 1e-6 || status=1
  else
    echo "$format as written: not compared on this CPU (no VNNI: ONNX Runtime turns s8 activations into u8 and its u8 x s8 kernels saturate)"
  fi
done
exit $status
