#!/usr/bin/env python3
"""Writes a test copy of an ONNX model whose chosen intermediate tensors are
also graph outputs, so ONNX Runtime hands them out (with the onnx library).

Usage: expose_tensors.py IN.onnx OUT.onnx [NAME ...]   (no names: every *_quantized activation)"""
import sys

import onnx

src, dst, names = sys.argv[1], sys.argv[2], sys.argv[3:]
model = onnx.load(src)
infos = {vi.name: vi for vi in model.graph.value_info}
initializers = {i.name for i in model.graph.initializer}
if not names:
    names = [o for n in model.graph.node for o in n.output if o.endswith("_quantized") and o not in initializers]
existing = {o.name for o in model.graph.output}
for name in names:
    if name in existing:
        continue
    if name not in infos:
        sys.exit(f"{src}: no value_info for tensor '{name}'")
    model.graph.output.append(infos[name])
onnx.save(model, dst)
print("\n".join(names))
