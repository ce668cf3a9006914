#!/usr/bin/env python3
"""Compares a peer's outputs with tinyq's.

Usage: compare_outputs.py NAME TINYQ.npy PEER.npy [--max-abs E] [--labels test_batch.bin --accuracy A]
Checks the largest absolute difference (<= E; 0 means bit-identical), that the
top-1 prediction is the same for every row, and optionally the peer's accuracy."""
import argparse
import sys

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("name")
p.add_argument("tinyq")
p.add_argument("peer")
p.add_argument("--max-abs", type=float, default=1e-5)
p.add_argument("--labels")
p.add_argument("--accuracy", type=float)
a = p.parse_args()

ours, theirs = np.load(a.tinyq), np.load(a.peer)
failures = []
if ours.shape != theirs.shape:
    failures.append(f"shapes differ: tinyq {ours.shape}, peer {theirs.shape}")
else:
    diff = float(np.max(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)))) if ours.size else 0.0
    same_top1 = int(np.sum(ours.reshape(len(ours), -1).argmax(1) == theirs.reshape(len(theirs), -1).argmax(1)))
    print(f"{a.name}: max |tinyq - peer| = {diff:.3g} over {ours.size} values; same top-1 for {same_top1}/{len(ours)}")
    if diff > a.max_abs:
        failures.append(f"max difference {diff:.3g} > {a.max_abs:g}")
    if same_top1 != len(ours):
        failures.append(f"{len(ours) - same_top1} rows predict a different class")
    if a.labels:
        labels = np.fromfile(a.labels, np.uint8).reshape(-1, 3073)[:, 0]
        acc = 100.0 * float(np.mean(theirs.argmax(1) == labels))
        print(f"{a.name}: peer accuracy {acc:.2f}% on {len(labels)} images")
        if a.accuracy is not None and abs(acc - a.accuracy) > 1e-9:
            failures.append(f"peer accuracy {acc:.2f}% != {a.accuracy:.2f}%")
for f in failures:
    print(f"{a.name}: FAIL: {f}")
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
