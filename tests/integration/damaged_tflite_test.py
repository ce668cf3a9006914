#!/usr/bin/env python3
"""Feeds tinyq truncated and bit-flipped copies of a .tflite model: every copy
must end with exit status 0 (a flip in weight bytes still makes a valid model)
or 1 and a 'tinyq: error:' naming the file, never a crash (a signal, or
AddressSanitizer's report in the sanitizer build), a hang or an internal error.

Usage: damaged_tflite_test.py TINYQ MODEL.tflite WORK_DIR [COUNT]"""
import os
import random
import subprocess
import sys

tinyq, model, work = sys.argv[1:4]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 150
os.makedirs(work, exist_ok=True)
data = open(model, "rb").read()
rng = random.Random(20261128)
cases = []
for cut in [0, 4, 7, 8, 16, 64, 200, 1000] + [rng.randrange(len(data)) for _ in range(count // 3)]:
    cases.append((f"truncated_{cut}", data[:cut]))
header = min(len(data), 4096)  # the flatbuffer's tables and vectors sit mostly near the start
for i in range(count - len(cases)):
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(header) if rng.random() < 0.7 else rng.randrange(len(b))
        b[pos] ^= 1 << rng.randrange(8)
    cases.append((f"flipped_{i}", bytes(b)))

failures, accepted, rejected = [], 0, 0
for name, content in cases:
    path = os.path.join(work, name + ".tflite")
    with open(path, "wb") as f:
        f.write(content)
    try:
        r = subprocess.run([tinyq, "info", path], capture_output=True, text=True, errors="replace", timeout=60)
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: no answer within 60 s")
        continue
    if r.returncode == 0:
        accepted += 1
    elif r.returncode == 1 and r.stderr.startswith("tinyq: error: " + path):
        rejected += 1
    else:
        failures.append(f"{name}: exit {r.returncode}: {r.stderr.strip()[:300]}")
    os.remove(path)
for f in failures:
    print("FAIL", f)
print(f"{len(cases) - len(failures)} passed, {len(failures)} failed: {rejected} damaged copies rejected with a clear "
      f"error, {accepted} still valid models")
sys.exit(1 if failures else 0)
