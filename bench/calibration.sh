#!/usr/bin/env bash
# Time to calibrate (observe 1000 images and choose ranges) per method, on all
# cores, against PyTorch's eager PTQ calibration of the same images (its
# default onednn observers: HistogramObserver for activations).
# Usage: bench/calibration.sh [MODEL]   (build first: scripts/test.sh or scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"

# The same 1000 images for everyone.
"$tinyq" quantize "$model" --out "$tmp/warm.onnx" --save-calib-indices "$tmp/calib.npy" > /dev/null
"$tinyq" convert "$model" --out "$tmp/torch" --to pytorch > /dev/null
stem=$(basename "${model%.*}")
torch_s=$(/usr/bin/python3 tests/peers/torch_ptq.py "$tmp/torch" "$stem" "$assets/data/cifar-10-batches-bin/data_batch_1.bin" \
  "$tmp/calib.npy" "$assets/data/cifar-10-batches-bin/test_batch.bin" "$assets/models/perf_samples_idxs.npy" |
  /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])['calibration_seconds'])")

printf "%-26s %10s %22s\n" "calibration (1000 images)" "seconds" "speed vs PyTorch PTQ"
for method in minmax entropy percentile mse; do
  start=$(date +%s.%N)
  "$tinyq" quantize "$model" --out "$tmp/$method.onnx" --method "$method" --calib-indices "$tmp/calib.npy" \
    --calib-data "$assets/data/cifar-10-batches-bin/data_batch_1.bin" > /dev/null
  end=$(date +%s.%N)
  /usr/bin/python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); p=float(sys.argv[3]); print(f'{\"tinyq \" + sys.argv[4]:<26} {t:10.2f} {p/t:21.2f}x')" "$start" "$end" "$torch_s" "$method"
done
printf '%-26s %10.2f %21s\n' "pytorch eager PTQ" "$torch_s" "1.00x"
echo "(tinyq's times include reading the model, the quantization and writing the .onnx; PyTorch's only its calibration loop)"
