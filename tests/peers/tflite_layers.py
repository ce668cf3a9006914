#!/usr/bin/env python3
"""Layer by layer, how tinyq's two TFLite arithmetics compare with TFLite's own
runtime on an int8 .tflite model: every operator's output tensor is exposed in
turn as the model output (tflite_expose.py) and run by the runtime
(tflite_run.mjs), then compared element for element with the same tensor from
`tinyq run --tensor` under --requant xnnpack (must be equal everywhere: the
runtime runs its default XNNPACK delegate) and --requant tflite (TFLite's
reference kernels, which round differently; the table says where and how much).

Usage: tflite_layers.py TINYQ MODEL.tflite BATCH.bin COUNT WORK_DIR"""
import os
import struct
import subprocess
import sys

import numpy as np

tinyq, model, batch, count, work = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(work, exist_ok=True)
buf = open(model, "rb").read()
OPS = {0: "ADD", 1: "AVERAGE_POOL_2D", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 9: "FULLY_CONNECTED", 22: "RESHAPE",
       25: "SOFTMAX", 114: "QUANTIZE", 6: "DEQUANTIZE"}


def u32(at):
    return struct.unpack_from("<I", buf, at)[0]


def field(table, fid):
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    vsize = struct.unpack_from("<H", buf, vtable)[0]
    if 4 + 2 * fid >= vsize:
        return None
    off = struct.unpack_from("<H", buf, vtable + 4 + 2 * fid)[0]
    return table + off if off else None


def deref(at):
    return at + u32(at)


def vector(at):  # (count, first element position)
    v = deref(at)
    return u32(v), v + 4


model_t = u32(0)
n_codes, codes = vector(field(model_t, 1))
opcode = []
for i in range(n_codes):
    c = deref(codes + 4 * i)
    f3, f0 = field(c, 3), field(c, 0)
    opcode.append(max(struct.unpack_from("<i", buf, f3)[0] if f3 else 0, struct.unpack_from("<b", buf, f0)[0] if f0 else 0))
_, subgraphs = vector(field(model_t, 2))
sg = deref(subgraphs)
n_tensors, tensors = vector(field(sg, 0))
names = []
for i in range(n_tensors):
    t = deref(tensors + 4 * i)
    s = deref(field(t, 3))
    names.append(bytes(buf[s + 4:s + 4 + u32(s)]).decode())
n_ops, ops = vector(field(sg, 3))
layers = []
for i in range(n_ops):
    op = deref(ops + 4 * i)
    idx = field(op, 0)
    code = opcode[u32(idx) if idx else 0]
    _, outs = vector(field(op, 2))
    layers.append((OPS.get(code, str(code)), struct.unpack_from("<i", buf, outs)[0]))

with open(os.path.join(work, "images.bin"), "wb") as f:
    f.write(open(batch, "rb").read()[: 3073 * count])
images = os.path.join(work, "images.bin")
print(f"{'#':>2} {'op':<16} {'tensor (TFLite name)':<48} {'elements':>9} {'xnnpack diff':>12} {'tflite diff':>11} {'max':>4}")
failures = []
for n, (op, t) in enumerate(layers):
    exposed = os.path.join(work, f"layer_{n}.tflite")
    subprocess.run([sys.executable, os.path.join(here, "tflite_expose.py"), model, str(t), exposed], check=True)
    runtime_out = os.path.join(work, f"runtime_{n}.npy")
    subprocess.run(["node", os.path.join(here, "tflite_run.mjs"), exposed, images, runtime_out], check=True,
                   stdout=subprocess.DEVNULL)
    rt = np.load(runtime_out).astype(np.int64)
    diffs = {}
    for mode in ("xnnpack", "tflite"):
        out = os.path.join(work, f"tinyq_{mode}_{n}.npy")
        subprocess.run([tinyq, "run", model, "--input", images, "--tensor", names[t], "--out", out, "--requant", mode],
                       check=True, stdout=subprocess.DEVNULL)
        ours = np.load(out).astype(np.int64)
        if ours.ndim == 4:
            ours = ours.transpose(0, 2, 3, 1)  # tinyq is NCHW, TFLite NHWC
        ours = ours.reshape(rt.shape)
        diffs[mode] = (int((ours != rt).sum()), int(np.abs(ours - rt).max()))
    print(f"{n:>2} {op:<16} {names[t][:48]:<48} {rt.size:>9,} {diffs['xnnpack'][0]:>12,} {diffs['tflite'][0]:>11,} "
          f"{diffs['tflite'][1]:>4}")
    if diffs["xnnpack"][0]:
        failures.append(f"layer {n} ({op}): {diffs['xnnpack'][0]} elements differ from the runtime under --requant xnnpack")
for f in failures:
    print("FAIL", f)
print(f"{len(layers) - len(failures)} passed, {len(failures)} failed: every layer of {os.path.basename(model)} on "
      f"{count} images equals TFLite's runtime under --requant xnnpack")
sys.exit(1 if failures else 0)
