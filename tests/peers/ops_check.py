#!/usr/bin/env python3
"""Checks `tinyq ops --json` against an independent read of the same QOperator
.onnx file with the Python onnx library: every node in the same order with the
same op, and every scale and zero point of every quantized node equal.

Usage: ops_check.py MODEL.onnx OPS.json"""
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load(sys.argv[1])
ops = json.load(open(sys.argv[2]))
inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
# Which inputs are scales / zero points, by operator (ONNX and com.microsoft signatures).
PARAMS = {
    "QLinearConv": {"x_scale": 1, "x_zero_point": 2, "w_scale": 4, "w_zero_point": 5, "y_scale": 6, "y_zero_point": 7},
    "QLinearMatMul": {"x_scale": 1, "x_zero_point": 2, "w_scale": 4, "w_zero_point": 5, "y_scale": 6, "y_zero_point": 7},
    "QLinearAdd": {"a_scale": 1, "a_zero_point": 2, "b_scale": 4, "b_zero_point": 5, "y_scale": 6, "y_zero_point": 7},
    "QLinearGlobalAveragePool": {"x_scale": 1, "x_zero_point": 2, "y_scale": 3, "y_zero_point": 4},
    "QuantizeLinear": {"scale": 1, "zero_point": 2},
    "DequantizeLinear": {"scale": 1, "zero_point": 2},
}
failures, compared = [], 0
nodes = [n for n in model.graph.node if n.op_type != "Constant"]
if len(nodes) != len(ops["nodes"]):
    failures.append(f"{len(nodes)} nodes in the file, {len(ops['nodes'])} in tinyq's reference")
for proto, ours in zip(nodes, ops["nodes"]):
    if proto.op_type != ours["op"] or proto.name != ours["name"]:
        failures.append(f"node {proto.name} ({proto.op_type}) vs tinyq {ours['name']} ({ours['op']})")
        continue
    for key, index in PARAMS.get(proto.op_type, {}).items():
        theirs = inits[proto.input[index]].reshape(-1).tolist()
        mine = ours["quantization"][key]
        mine = mine if isinstance(mine, list) else [mine]
        compared += len(theirs)
        if not np.array_equal(np.array(theirs, dtype=np.float64), np.array(mine, dtype=np.float64)):
            failures.append(f"{proto.name}.{key}: onnx {theirs[:4]} vs tinyq {mine[:4]}")
for f in failures:
    print("FAIL", f)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed: {compared} scales and zero points of {len(nodes)} nodes compared")
sys.exit(1 if failures else 0)
