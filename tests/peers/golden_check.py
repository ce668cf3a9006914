#!/usr/bin/env python3
"""Re-checks tinyq's golden vectors with an independent NumPy QLinearConv,
reading only the manifest and the .npy files (and the .hex files, which must
hold the same values).

For every QLinearConv layer: the int32 accumulators are recomputed from the
quantized input, weights, bias, zero points, strides, pads, dilations and
group; the outputs are recomputed from the accumulators with the manifest's
requantization (float and xnnpack: ONNX Runtime's rule, which is also XNNPACK's
fp32 requantization; fixed: M0 * 2^-n, round half up; tflite: TFLite's
reference kernels, the multiplier derived here from the scales as TFLite's
QuantizeMultiplier does, then gemmlowp's two roundings).

Usage: golden_check.py GOLDEN_DIR"""
import json
import math
import os
import sys

import numpy as np

root = sys.argv[1]
manifest = json.load(open(os.path.join(root, "manifest.json")))
failures, checked = [], 0


def load(entry):
    return np.load(os.path.join(root, entry["npy"]))


def hex_values(entry):
    bits = entry["bits"]
    vals = np.array([int(line, 16) for line in open(os.path.join(root, entry["hex"])).read().split()], dtype=np.int64)
    if entry["dtype"] == "f32":
        return vals.astype(np.uint32).view(np.float32)
    signed = entry["dtype"] in ("s8", "s32")
    if signed:
        vals = np.where(vals >= 1 << (bits - 1), vals - (1 << bits), vals)
    return vals


def qlinear_conv_acc(x, w, b, x_zp, w_zp, strides, pads, dilations, group):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xc = x.astype(np.int64) - x_zp
    xp = np.zeros((n, c, h + pads[0] + pads[2], wd + pads[1] + pads[3]), np.int64)
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + wd] = xc
    oh = (h + pads[0] + pads[2] - ((kh - 1) * dilations[0] + 1)) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - ((kw - 1) * dilations[1] + 1)) // strides[1] + 1
    wz = (w.astype(np.int64) - np.asarray(w_zp, np.int64).reshape(-1, 1, 1, 1))
    acc = np.zeros((n, m, oh, ow), np.int64)
    per_group = m // group
    for o in range(m):
        g = o // per_group
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg,
                           i * dilations[0]: i * dilations[0] + strides[0] * (oh - 1) + 1: strides[0],
                           j * dilations[1]: j * dilations[1] + strides[1] * (ow - 1) + 1: strides[1]]
                acc[:, o] += np.einsum("ncyx,c->nyx", patch, wz[o, :, i, j])
    if b is not None:
        acc += b.astype(np.int64).reshape(1, -1, 1, 1)
    return acc


def tflite_quantize_multiplier(real):
    """TFLite's QuantizeMultiplier: real = q * 2^shift, q in [0.5, 1), M0 = round(q * 2^31) (half away from zero)."""
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)
    m0 = int(math.floor(q * (1 << 31) + 0.5))
    if m0 == 1 << 31:
        m0 //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return m0, shift


def gemmlowp_multiply(x, m0, shift):
    """MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT."""
    left, right = max(shift, 0), max(-shift, 0)
    x = x.astype(np.int64) * (1 << left)
    ab = x * m0
    nudged = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))  # division truncating toward zero
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)


def requantize(acc, params, dtype, mode):
    lo, hi = (0, 255) if dtype == "u8" else (-128, 127)
    zp = params["y_zero_point"]
    channels = acc.shape[1]
    out = np.empty(acc.shape, np.int64)
    for c in range(channels):
        k = c if len(params["multiplier"]) > 1 else 0
        a = acc[:, c]
        if mode == "tflite":
            real = float(np.float32(params["x_scale"])) * float(np.float32(params["w_scale"][k])) / float(np.float32(params["y_scale"]))
            m0, shift = tflite_quantize_multiplier(real)
            out[:, c] = np.clip(gemmlowp_multiply(a, m0, shift) + zp, lo, hi)
        elif mode in ("float", "xnnpack"):
            # float32(x_scale) * float32(w_scale) / float32(y_scale), then float32(acc) * M, clamp, round half to even.
            m = np.float32(np.float32(params["x_scale"]) * np.float32(params["w_scale"][k])) / np.float32(params["y_scale"])
            v = np.clip(a.astype(np.float32) * np.float32(m), np.float32(lo - zp), np.float32(hi - zp))
            out[:, c] = np.rint(v).astype(np.int64) + zp
        else:
            m0, n = params["multiplier_fixed"][k]["m0"], params["multiplier_fixed"][k]["shift"]
            out[:, c] = np.clip(((a * m0 + (1 << (n - 1))) >> n) + zp, lo, hi)
    return out


previous_output = None
for layer in manifest["layers"]:
    files = layer["files"]
    for role, entry in files.items():
        if "hex" in entry and "npy" in entry:
            if not np.array_equal(hex_values(entry), load(entry).reshape(-1).astype(hex_values(entry).dtype)):
                failures.append(f"{layer['folder']}/{role}: .hex and .npy differ")
    if layer["op"] == "QLinearConv":
        p, a = layer["params"], layer["attributes"]
        x, w = load(files["input"]), load(files["weights"])
        b = load(files["bias"]) if "bias" in files else None
        acc = qlinear_conv_acc(x, w, b, p["x_zero_point"], p["w_zero_point"], a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0]),
                               a.get("dilations", [1, 1]), a.get("group", 1))
        ours = load(files["accumulator"]).astype(np.int64)
        out = load(files["output"])
        y = requantize(acc, p, files["output"]["dtype"], manifest["requant"])
        acc_ok, out_ok = np.array_equal(acc, ours), np.array_equal(y, out.astype(np.int64))
        print(f"{layer['folder']:<28} accumulators {'equal' if acc_ok else 'DIFFER'} ({acc.size}), outputs {'equal' if out_ok else 'DIFFER'}"
              f", |acc| max {int(np.abs(acc).max())}")
        checked += 1
        if not acc_ok:
            failures.append(f"{layer['folder']}: accumulators differ")
        if not out_ok:
            failures.append(f"{layer['folder']}: outputs differ in {int(np.sum(y != out))} places")
if checked == 0:
    failures.append("no QLinearConv layer in the manifest")
for f in failures:
    print("FAIL", f)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed ({checked} QLinearConv layers re-derived)")
sys.exit(1 if failures else 0)
