#!/usr/bin/env python3
"""Checks `tinyq doc` output: a parameter-table row for every quantized node
of the model (read with the onnx library), the graph picture it links, and
the pseudocode section. Usage: doc_check.py MODEL.onnx DOC_DIR"""
import os
import sys
import xml.etree.ElementTree as ET

import onnx

model, out = onnx.load(sys.argv[1]), sys.argv[2]
md = open(os.path.join(out, "QUANTIZATION_OPERATIONS.md")).read()
rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| #")]
quantized = [n for n in model.graph.node if n.op_type.startswith("QLinear") or n.op_type in ("QuantizeLinear", "DequantizeLinear")]
failures = []
for n in quantized:
    if not any(f"| {n.name} | {n.op_type} |" in row for row in rows):
        failures.append(f"no table row for {n.name} ({n.op_type})")
if "![graph](graph.svg)" not in md:
    failures.append("the graph picture is not linked")
ET.parse(os.path.join(out, "graph.svg"))  # raises on invalid XML
for needed in ["Integer-only pseudocode", "$$", "Scales and zero points through the residual adds"]:
    if needed not in md:
        failures.append(f"missing: {needed}")
for f in failures:
    print("FAIL", f)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed: {len(quantized)} quantized nodes, {len(rows)} table rows")
sys.exit(1 if failures else 0)
