#!/usr/bin/env bash
# Regenerates docs/examples/ from the default quantized ResNet8:
#   ops.json, graph.svg, graph_float.svg, QUANTIZATION_OPERATIONS.md (+ its graph.svg),
#   and with --compare also compare/ (report.md, report.json, accuracy.svg; about 10 minutes on 2 cores).
# Usage: scripts/make_examples.sh [--compare]   (after building: scripts/test.sh or scripts/demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
tinyq=build/src/tinyq
assets=${TINYQ_ASSETS:-../shared}
model=$assets/models/pretrainedResnet.h5
out=docs/examples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
"$tinyq" quantize "$model" --out "$tmp/resnet8_int8.onnx" > /dev/null        # defaults: MinMax, per-tensor, u8/s8, QDQ
"$tinyq" ops "$tmp/resnet8_int8.onnx" --json "$out/ops.json" > "$out/ops.txt"
"$tinyq" graph "$tmp/resnet8_int8.onnx" --out "$out/graph.svg"
"$tinyq" graph "$model" --out "$out/graph_float.svg"
"$tinyq" doc "$tmp/resnet8_int8.onnx" --out "$out/doc"
if [ "${1:-}" = "--compare" ]; then
  "$tinyq" compare "$model" --out "$tmp/compare" --layers > /dev/null
  mkdir -p "$out/compare"
  cp "$tmp/compare/report.md" "$tmp/compare/report.json" "$tmp/compare/accuracy.svg" "$out/compare/"
fi
echo "regenerated $out"
