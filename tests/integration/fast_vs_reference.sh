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
#   - On any AVX2 CPU, the same with --kernels avx512-emulated: the AVX-512 and
#     VNNI kernels' code on portable intrinsics, run through the runtime (int8
#     logits equal to the reference; fp32 outputs equal to the real AVX-512
#     kernels' bit for bit, or within 1e-5 of the AVX2 ones on a CPU without
#     AVX-512, as the Winograd layers round differently). On 1,000 images: it is slow.
# Usage: fast_vs_reference.sh TINYQ MODEL TEST_BATCH WORK_DIR
set -euo pipefail
tinyq=$1 model=$2 test_batch=$3 work=$4
peers=$(cd "$(dirname "$0")/../peers" && pwd)
python=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work"
status=0
emulated=$(grep -qw avx2 /proc/cpuinfo && echo avx512-emulated || true)
[ -n "$emulated" ] || echo "this CPU has no AVX2: --kernels avx512-emulated is not checked here"
$python - "$test_batch" "$work/first1000.bin" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(data[:1000 * 3073])  # CIFAR-10 records: 1 label byte + 3072 pixel bytes
PY
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
    if [ -n "$emulated" ]; then
      for kernels in avx512-emulated reference; do
        "$tinyq" run "$f.onnx" --input "$work/first1000.bin" --requant "$requant" --kernels "$kernels" \
          --out-dir "$f.$requant.$kernels.1000" --tensor "$(cat "$f.logits")" > /dev/null
      done
      $python "$peers/compare_quantized.py" "$name $requant requant: emulated AVX-512 VNNI vs reference, 1000 images" \
        "$f.$requant.avx512-emulated.1000" "$f.$requant.reference.1000" "$f.logits" || status=1
    fi
  done
done
"$tinyq" eval "$model" --kernels auto --dump-outputs "$work/fp32_auto.npy" > /dev/null
"$tinyq" eval "$model" --kernels reference --dump-outputs "$work/fp32_reference.npy" > /dev/null
$python "$peers/compare_outputs.py" "fp32 fast vs reference" "$work/fp32_auto.npy" "$work/fp32_reference.npy" --max-abs 1e-5 || status=1
if [ -n "$emulated" ]; then
  for kernels in avx512-emulated auto; do
    "$tinyq" run "$model" --input "$work/first1000.bin" --kernels "$kernels" --out "$work/fp32_$kernels.1000.npy" > /dev/null
  done
  # With AVX-512 the fast kernels are the same code on real instructions:
  # equal bit for bit. Without it they are the AVX2 ones, which sum the
  # direct convolutions in the same order but do not use Winograd's.
  if grep -qw avx512f /proc/cpuinfo; then same=0; else same=1e-5; fi
  $python "$peers/compare_outputs.py" "fp32 emulated AVX-512 vs fast, 1000 images" "$work/fp32_avx512-emulated.1000.npy" \
    "$work/fp32_auto.1000.npy" --max-abs $same || status=1
fi
exit $status
