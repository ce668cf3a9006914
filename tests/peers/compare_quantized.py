#!/usr/bin/env python3
"""Compares quantized tensors tinyq computed with those ONNX Runtime computed,
element for element (integers: equality is the only acceptable answer).

Usage: compare_quantized.py NAME TINYQ_DIR ORT_DIR NAMES_FILE [--require-equal NAME ...] [--min-equal PCT]
Prints the share of equal elements per tensor. Fails when a --require-equal
tensor differs anywhere or any tensor is below --min-equal percent."""
import argparse
import os
import sys

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("name")
p.add_argument("tinyq_dir")
p.add_argument("ort_dir")
p.add_argument("names_file")
p.add_argument("--require-equal", nargs="*", default=[])
p.add_argument("--min-equal", type=float, default=100.0)
a = p.parse_args()

failures = []
for tensor in open(a.names_file).read().split():
    f = tensor.replace("/", "_") + ".npy"
    ours, theirs = np.load(os.path.join(a.tinyq_dir, f)), np.load(os.path.join(a.ort_dir, f))
    if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
        failures.append(f"{tensor}: tinyq {ours.dtype}{ours.shape} vs onnxruntime {theirs.dtype}{theirs.shape}")
        continue
    equal = 100.0 * float(np.mean(ours == theirs))
    worst = int(np.max(np.abs(ours.astype(np.int64) - theirs.astype(np.int64)))) if ours.size else 0
    print(f"{a.name}: {tensor:<40} {equal:8.4f}% equal  (max |diff| {worst} LSB, {ours.size} values)")
    if equal < a.min_equal or (tensor in a.require_equal and equal < 100.0):
        failures.append(f"{tensor}: only {equal:.4f}% equal")
for f in failures:
    print(f"{a.name}: FAIL {f}")
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
