#!/usr/bin/env bash
# Sets up, builds and runs every test: the release build with warnings as
# errors, then the unit, importer and CLI tests again under AddressSanitizer
# and UndefinedBehaviorSanitizer (with the playground server under its API and
# load test), then a short run of every fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTINYQ_BUILD_TESTS=ON -DTINYQ_WERROR=ON
cmake --build build -j"$jobs"
# The assets the tests read: checked, and downloaded only when missing
# (never when ../shared or $TINYQ_ASSETS is complete).
build/src/tinyq fetch >/dev/null || echo "test.sh: tinyq fetch could not get every asset (see above); the tests that read a missing one will say which" >&2
(cd build && ctest -j"$jobs" --output-on-failure)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTINYQ_BUILD_TESTS=ON -DTINYQ_SANITIZE=ON -DTINYQ_WERROR=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$jobs" --output-on-failure -L "unit|importer|cli|serve")

# Every fuzzer: the inputs it once crashed on, then 10 seconds of new ones.
scripts/fuzz.sh 10
