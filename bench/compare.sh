#!/usr/bin/env bash
# tinyq against ONNX Runtime and PyTorch in one run, on the same 10,000 CIFAR-10
# test images and the same files (tinyq's own ONNX export and int8 QDQ model):
#   - throughput at batch 250 on 2 threads, repetitions interleaved, median of $REPS (default 3);
#   - latency at batch 1 on 1 thread (median and p99 over the 10,000 single-image runs);
#   - peak resident memory of each process (the throughput run);
#   - each throughput as a share of the machine's peak multiply-accumulate rate,
#     measured in the same run by tinyq_kernel_bench's peak probes;
# then bench/calibration.sh (calibration time per method against PyTorch's PTQ).
# Usage: bench/compare.sh [MODEL]   (build first: scripts/test.sh or scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"
test_batch=$assets/data/cifar-10-batches-bin/test_batch.bin
reps=${REPS:-3}
stem=$(basename "${model%.*}")
"$tinyq" convert "$model" --out "$tmp" > /dev/null
"$tinyq" quantize "$model" --out "$tmp/int8.onnx" > /dev/null     # MinMax per-tensor, u8/s8, QDQ
py=/usr/bin/python3
results=$tmp/results.tsv   # engine <tab> metric <tab> value

measure() {  # name metric-prefix command... ; records images/s, latency and peak RSS (KiB)
  local name=$1; shift
  /usr/bin/time -f "%M" -o "$tmp/rss" "$@" > "$tmp/out" 2>/dev/null
  printf '%s\trss_kib\t%s\n' "$name" "$(tail -n 1 "$tmp/rss")" >> "$results"
}
tinyq_eval() {  # name model batch threads [extra]
  local name=$1 m=$2 batch=$3 threads=$4; shift 4
  measure "$name" "$tinyq" eval "$m" --batch "$batch" --threads "$threads" --json "$tmp/r.json" "$@"
  $py - "$tmp/r.json" "$name" "$batch" >> "$results" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); name, batch = sys.argv[2], sys.argv[3]
if batch == "1":
    print(f"{name}\tlat_median\t{j['batch_latency_ms']['median']}\n{name}\tlat_p99\t{j['batch_latency_ms']['p99']}")
else:
    print(f"{name}\tips\t{j['images_per_second']}")
PY
}
ort_eval() {  # name model batch threads
  local name=$1 m=$2 batch=$3 threads=$4
  measure "$name" node tests/peers/ort_run.mjs "$m" "$test_batch" "$tmp/o.npy" --batch "$batch" --threads "$threads"
  sed -E 's/.*\(([0-9.]+) \/s\) batch latency median ([0-9.]+) ms p99 ([0-9.]+) ms/\1 \2 \3/' "$tmp/out" |
    { read -r ips med p99; if [ "$batch" = 1 ]; then printf '%s\tlat_median\t%s\n%s\tlat_p99\t%s\n' "$name" "$med" "$name" "$p99"; else printf '%s\tips\t%s\n' "$name" "$ips"; fi; } >> "$results"
}
torch_eval() {  # name threads
  measure "$1" $py tests/peers/torch_run.py "$tmp" "$stem" "$test_batch" "$tmp/t" --threads "$2"
  printf '%s\tips\t%s\n' "$1" "$($py -c "import re,sys; s=open(sys.argv[1]).read(); print(10000 / float(re.search(r'torchscript: [0-9]+ inputs in ([0-9.]+) s', s).group(1)))" "$tmp/out")" >> "$results"
}
torch_int8_eval() {  # name: eager-mode PTQ (onednn, 2 threads), timed on the 10,000 images at batch 250
  measure "$1" $py tests/peers/torch_ptq.py "$tmp/torch" "$stem" "$assets/data/cifar-10-batches-bin/data_batch_1.bin" \
    "$tmp/calib.npy" "$test_batch" "$assets/models/perf_samples_idxs.npy"
  printf '%s\tips\t%s\n' "$1" "$($py -c "import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(j['eval_images'] / j['eval_seconds'])" "$tmp/out")" >> "$results"
}
"$tinyq" convert "$model" --out "$tmp/torch" --to pytorch > /dev/null
"$tinyq" quantize "$model" --out "$tmp/warm.onnx" --save-calib-indices "$tmp/calib.npy" > /dev/null

for rep in $(seq "$reps"); do
  echo "repetition $rep/$reps" >&2
  tinyq_eval "tinyq fp32" "$model" 250 2
  ort_eval "onnxruntime fp32" "$tmp/$stem.onnx" 250 2
  tinyq_eval "tinyq int8 (float requant)" "$tmp/int8.onnx" 250 2
  ort_eval "onnxruntime int8" "$tmp/int8.onnx" 250 2
  tinyq_eval "tinyq int8 (fixed requant)" "$tmp/int8.onnx" 250 2 --requant fixed
  torch_eval "pytorch fp32 (TorchScript)" 2
  torch_int8_eval "pytorch int8 (eager PTQ, onednn)"
done
echo "latency runs (batch 1, 1 thread)" >&2
tinyq_eval "tinyq fp32" "$model" 1 1
ort_eval "onnxruntime fp32" "$tmp/$stem.onnx" 1 1
tinyq_eval "tinyq int8 (float requant)" "$tmp/int8.onnx" 1 1
ort_eval "onnxruntime int8" "$tmp/int8.onnx" 1 1

kernels=$("$tinyq" eval "$tmp/int8.onnx" --subset 10 --profile | awk '$2 == "QLinearConv" {print $3; exit}')
# Every kernel the float convolutions use (Winograd for 3x3 stride 1, direct for the rest).
f32_kernels=$("$tinyq" eval "$model" --subset 10 --profile | awk '$2 ~ /Conv$/ {print $3}' | sort -u | paste -sd, -)
macs=$("$tinyq" info "$model" | sed -n 's/^MACs per image: //p' | tr -d ,)
# The peak per core of the instruction each precision's chosen kernel uses.
case $f32_kernels in *x86-avx512*) f32_probe='fma_f32 (vfmadd231ps zmm)';; *) f32_probe='fma_f32 (vfmadd231ps ymm)';; esac
case $kernels in x86-avx512-vnni) int8_probe='dpbusd_u8s8 (vpdpbusd zmm)';; *) int8_probe='madd_s16 (vpmaddwd+vpaddd ymm)';; esac
peak() {  # probe name -> MAC/s of one core
  build/bench/tinyq_kernel_bench --benchmark_filter="^peak/$(printf '%s' "$1" | sed 's/[()+]/./g')\$" --benchmark_min_time=0.3 \
    --benchmark_format=json 2> /dev/null | $py -c "import json,sys; print(json.load(sys.stdin)['benchmarks'][0]['MAC/s'])"
}
f32_peak=$(peak "$f32_probe"); int8_peak=$(peak "$int8_probe")
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; tinyq kernels chosen: fp32 conv $f32_kernels, int8 conv $kernels"
echo "images: 10,000 CIFAR-10 test images ($($py -c "print(f'{$macs:,}')") MACs each); throughput: batch 250, 2 threads, median of $reps interleaved runs"
echo "peak per core (measured now): fp32 $($py -c "print(f'{$f32_peak/1e9:.1f}')") GMAC/s ($f32_probe), int8 $($py -c "print(f'{$int8_peak/1e9:.1f}')") GMAC/s ($int8_probe)"
MACS=$macs F32_PEAK=$f32_peak INT8_PEAK=$int8_peak $py - "$results" <<'PY'
import os, statistics, sys
from collections import defaultdict
values = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    name, metric, value = line.rstrip("\n").split("\t")
    values[name][metric].append(float(value))
med = lambda n, m: statistics.median(values[n][m]) if values[n][m] else float("nan")
peer = {"tinyq fp32": "onnxruntime fp32", "tinyq int8 (float requant)": "onnxruntime int8", "tinyq int8 (fixed requant)": "onnxruntime int8"}
macs, threads = float(os.environ["MACS"]), 2
print(f"{'engine':<32} {'images/s':>10} {'vs ORT':>8} {'% of peak':>10} {'lat. median ms':>15} {'lat. p99 ms':>12} {'peak RSS MiB':>13}")
for name in values:
    ips = med(name, "ips")
    ratio = f"{ips / med(peer[name], 'ips'):.2f}x" if name in peer else ""
    peak = float(os.environ["INT8_PEAK" if "int8" in name else "F32_PEAK"]) * threads
    lat = f"{med(name, 'lat_median'):.4f}" if values[name]["lat_median"] else ""
    p99 = f"{med(name, 'lat_p99'):.4f}" if values[name]["lat_p99"] else ""
    rss = max(values[name]["rss_kib"]) / 1024
    print(f"{name:<32} {ips:>10.1f} {ratio:>8} {100 * ips * macs / peak:>9.1f}% {lat:>15} {p99:>12} {rss:>13.1f}")
print("% of peak: images/s x MACs per image (a direct convolution's) over 2 cores' peak of the instruction tinyq's kernel for")
print("that precision uses; an engine built on another instruction (ONNX Runtime's AVX2 int8: vpmaddubsw, twice the MACs but")
print("saturating) or on fewer multiplies (tinyq's Winograd fp32 layers: 2.25x fewer) can exceed it.")
PY
echo
bench/calibration.sh "$model"
