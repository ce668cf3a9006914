#!/usr/bin/env bash
# Sets up, builds and runs the main job: tinyq eval of the MLPerf Tiny ResNet8
# on the full CIFAR-10 test set (assets from $TINYQ_ASSETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target tinyq
build/src/tinyq info "${TINYQ_ASSETS:-../shared}/models/pretrainedResnet.h5"
echo
build/src/tinyq eval "$@"
