#!/usr/bin/env python3
"""Writes ONNX files tinyq must reject with a clear error: an operator outside
tinyq's set, an input never defined, a truncated file, an unsupported opset.

Usage: make_bad_onnx.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])
y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4])


def save(name, nodes, opset=13, inits=()):
    graph = helper.make_graph(nodes, name, [x], [y], initializer=list(inits))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), os.path.join(out, name + ".onnx"))


save("unsupported_op", [helper.make_node("Celu", ["input"], ["output"], name="mystery_celu")])
save("dangling_input", [helper.make_node("Add", ["input", "ghost"], ["output"], name="add_ghost")])
save("old_opset", [helper.make_node("Relu", ["input"], ["output"], name="relu")], opset=9)
save("good", [helper.make_node("Relu", ["input"], ["output"], name="relu")])
data = open(os.path.join(out, "good.onnx"), "rb").read()
open(os.path.join(out, "truncated.onnx"), "wb").write(data[: len(data) // 2])
