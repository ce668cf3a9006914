#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each of them.
#
#   scripts/fuzz.sh            smoke run: the committed regression inputs, then 10 s per target (CI does this)
#   scripts/fuzz.sh 600        a longer run: 600 s per target (docs/RELIABILITY.md reports one)
#   scripts/fuzz.sh 60 onnx    one target
#
# Seeds are made from real files: the generated Keras test models and their
# ONNX exports, the ResNet8 in the assets folder, CIFAR-10 records and MLPerf's
# index files. A crash stops the run and leaves the input in build-fuzz/findings/;
# copy it to tests/fuzz/regressions/TARGET/ once fixed, and every later run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
only=${2:-}
assets=${TINYQ_ASSETS:-../shared}
jobs=$(nproc)
targets=(keras_config keras_h5 onnx tflite npy cifar10 index_list)
seeds=build-fuzz/seeds

# FUZZ_SKIP_BUILD=1: reuse build-fuzz and its seeds (parallel runs of single targets).
if [ -z "${FUZZ_SKIP_BUILD:-}" ]; then
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTINYQ_FUZZ=ON \
  -DTINYQ_BUILD_TESTS=OFF -DTINYQ_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_targets
# The release CLI converts the seed models to ONNX.
[ -x build/src/tinyq ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j"$jobs" --target tinyq; }

if [ ! -f "$seeds/.complete" ]; then
  rm -rf "$seeds"
  mkdir -p "$seeds"/{keras_config,keras_h5,onnx,tflite,npy,cifar10,index_list}
  /usr/bin/python3 tests/tools/make_keras_models.py "$seeds/models" >/dev/null
  while read -r name; do
    cp "$seeds/models/$name/model.h5" "$seeds/keras_h5/$name.h5"
    cp "$seeds/models/$name/input_keras.npy" "$seeds/npy/$name.npy"
    build/src/tinyq convert "$seeds/models/$name/model.h5" --to onnx --out "$seeds/convert/$name" >/dev/null
    cp "$seeds/convert/$name/"*.onnx "$seeds/onnx/$name.onnx"
  done <"$seeds/models/models.txt"
  cp "$seeds/models/malformed/"*.h5 "$seeds/keras_h5/"
  /usr/bin/python3 - "$seeds" <<'PY'
import glob, os, sys
import h5py
seeds = sys.argv[1]
for path in glob.glob(os.path.join(seeds, "models", "*", "model.h5")):
    with h5py.File(path, "r") as f:
        config = f.attrs["model_config"]
    name = os.path.basename(os.path.dirname(path))
    with open(os.path.join(seeds, "keras_config", name + ".json"), "w") as out:
        out.write(config if isinstance(config, str) else config.decode())
PY
  /usr/bin/python3 tests/tools/make_bad_onnx.py "$seeds/onnx-bad" && cp "$seeds/onnx-bad/"*.onnx "$seeds/onnx/"
  if [ -f "$assets/models/pretrainedResnet.h5" ]; then
    build/src/tinyq quantize "$assets/models/pretrainedResnet.h5" --out "$seeds/onnx/resnet8_qdq.onnx" \
      --calib-count 20 >/dev/null
    cp "$assets/models/"*idxs.npy "$seeds/index_list/"
    cp "$assets/models/"*.tflite "$seeds/tflite/"
    cp "$assets/models/"*idxs.npy "$seeds/npy/"
  fi
  if [ -f "$assets/data/cifar-10-batches-bin/test_batch.bin" ]; then
    head -c $((3073 * 2)) "$assets/data/cifar-10-batches-bin/test_batch.bin" >"$seeds/cifar10/two_records.bin"
  else
    head -c $((3073 * 2)) /dev/zero >"$seeds/cifar10/two_records.bin"
  fi
  /usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.arange(5, dtype=np.int32))" \
    "$seeds/index_list/int32.npy"
  touch "$seeds/.complete"
fi
fi

export TINYQ_FUZZ_WEIGHTS=$PWD/$seeds/models/residual/model.h5
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp
mkdir -p build-fuzz/findings
printf '%-14s %10s %10s %8s %10s\n' target seconds execs cov features
for t in "${targets[@]}"; do
  [ -z "$only" ] || [ "$only" = "$t" ] || continue
  bin=build-fuzz/tests/fuzz/${t}_fuzzer
  # libhdf5 asks malloc for sizes read from a damaged file (up to 2^61 bytes
  # seen) and handles the NULL it gets back: the release build then reports
  # "cannot open as HDF5". Let ASan return NULL as the real allocator would,
  # and allow HDF5 the RSS limit per allocation. docs/RELIABILITY.md has the input.
  export ASAN_OPTIONS=allocator_may_return_null=0
  malloc_limit=512
  if [ "$t" = keras_h5 ]; then ASAN_OPTIONS=allocator_may_return_null=1; malloc_limit=2048; fi
  # Every crash ever found and fixed must stay fixed.
  if compgen -G "tests/fuzz/regressions/$t/*" >/dev/null; then
    "$bin" -runs=0 tests/fuzz/regressions/"$t"/* >/dev/null 2>build-fuzz/findings/$t.regressions.log ||
      { cat build-fuzz/findings/$t.regressions.log; echo "fuzz: $t: a regression input fails again" >&2; exit 1; }
  fi
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  log=build-fuzz/findings/$t.log
  # 2 GB RSS and 512 MB per allocation (tinyq's own code): a bogus header must never ask for more.
  if ! "$bin" "$corpus" "$seeds/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=$malloc_limit -artifact_prefix=build-fuzz/findings/"$t"- -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t found a crash; the input is in build-fuzz/findings/" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-14s %10s %10s %8s %10s\n' "$t" "$seconds" "$execs" "${cov:-?}" "${ft:-?}"
done
