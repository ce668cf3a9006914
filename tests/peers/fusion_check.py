#!/usr/bin/env python3
"""Checks which quantized operators tinyq runs a QDQ file as (`tinyq ops --json`,
after tinyq's fuse_qdq pass) against the graph ONNX Runtime itself runs
(ort_optimized.mjs): every node but DequantizeLinear, by name, with the same
operator, and every QuantizeLinear with the same element type (ONNX Runtime
turns some s8 pairs into u8). That decides which layers run on integer
kernels and which stay in float, so it must match for the outputs to match.

Usage: fusion_check.py ORT_OPTIMIZED.onnx OPS.json LABEL"""
import json
import sys

import onnx

optimized, ops_json, label = sys.argv[1:4]
model = onnx.load(optimized)
elem = {onnx.TensorProto.UINT8: "u8", onnx.TensorProto.INT8: "s8"}
inits = {i.name: elem.get(i.data_type, str(i.data_type)) for i in model.graph.initializer}
theirs = {}
for n in model.graph.node:
    if n.op_type == "DequantizeLinear":
        continue
    kind = n.op_type
    if n.op_type == "QuantizeLinear":
        kind += " -> " + inits.get(n.input[2], "?") if len(n.input) > 2 else " -> u8"
    theirs[n.name] = kind
ours = {}
for n in json.load(open(ops_json))["nodes"]:
    if n["op"] == "DequantizeLinear":
        continue
    kind = n["op"]
    if n["op"] == "QuantizeLinear":
        kind += " -> " + n["outputs"][0]["dtype"]
    ours[n["name"]] = kind
bad = [f"{name}: ONNX Runtime {theirs.get(name, 'absent')}, tinyq {ours.get(name, 'absent')}"
       for name in sorted(set(theirs) | set(ours)) if theirs.get(name) != ours.get(name)]
for line in bad:
    print(f"{label}: FAIL: {line}")
fused = sum(k.startswith("QLinear") for k in ours.values())
print(f"{label}: {len(theirs)} nodes, {fused} fused QLinear ops; "
      + ("same operators and types as ONNX Runtime" if not bad else f"{len(bad)} differ"))
sys.exit(1 if bad else 0)
