#!/usr/bin/env python3
"""Counts how two runtimes' integer outputs differ on the same images, for
reports where they are not expected to agree bit for bit (ONNX Runtime running
tinyq's ONNX export of a TFLite int8 model rounds as ONNX Runtime does).
Checks that both score within TOLERANCE accuracy points of each other.

Usage: count_differences.py NAME A.npy B.npy LABELS.bin TOLERANCE"""
import sys

import numpy as np

name, a_path, b_path, labels_path, tolerance = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
a, b = np.load(a_path).astype(np.int64), np.load(b_path).astype(np.int64)
a = a.reshape(len(a), -1)
b = b.reshape(len(b), -1)
labels = np.fromfile(labels_path, dtype=np.uint8).reshape(-1, 3073)[: len(a), 0]
acc_a, acc_b = 100 * np.mean(a.argmax(1) == labels), 100 * np.mean(b.argmax(1) == labels)
print(f"{name}: {int((a != b).sum()):,} of {a.size:,} values differ ({int((a != b).any(1).sum()):,} of {len(a):,} images), "
      f"largest difference {int(np.abs(a - b).max())}; same top-1 on {int((a.argmax(1) == b.argmax(1)).sum()):,} images; "
      f"accuracy {acc_a:.2f}% vs {acc_b:.2f}%")
ok = a.shape == b.shape and abs(acc_a - acc_b) <= tolerance
print(f"{int(ok)} passed, {int(not ok)} failed")
sys.exit(0 if ok else 1)
