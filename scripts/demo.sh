#!/usr/bin/env bash
# Sets up, builds and runs the main job: tinyq eval of the MLPerf Tiny ResNet8
# on the full CIFAR-10 test set. Assets come from the assets folder
# ($TINYQ_ASSETS, else ../shared, else ~/.cache/tinyq) and are fetched when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target tinyq
# Downloads only what the assets folder lacks (nothing when ../shared is
# complete), checking every file's SHA-256; TINYQ_MIRROR points to another server.
build/src/tinyq fetch
echo
build/src/tinyq info
echo
build/src/tinyq eval "$@"
