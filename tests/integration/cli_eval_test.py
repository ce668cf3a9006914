#!/usr/bin/env python3
"""`tinyq eval` end to end: its JSON and .npy outputs re-derived with NumPy.

The labels come straight from test_batch.bin, the accuracy, confusion matrix
and EEMBC AUC are recomputed here from the dumped softmax outputs, and error
exits are checked to be non-zero."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

tinyq = sys.argv[1]
assets = os.environ.get("TINYQ_ASSETS", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
N = 600

with tempfile.TemporaryDirectory() as tmp:
    js, npy = os.path.join(tmp, "r.json"), os.path.join(tmp, "out.npy")
    run = subprocess.run([tinyq, "eval", "--subset", str(N), "--threads", "2", "--batch", "64", "--json", js,
                          "--dump-outputs", npy], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr, "no progress bar when stderr is not a terminal"
    report = json.load(open(js))
    for key in ["accuracy", "correct", "total", "per_class", "confusion", "auc", "images_per_second"]:
        assert key in report, key
    probs = np.load(npy)
    assert probs.shape == (N, 10) and probs.dtype == np.float32, probs.shape
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)

    raw = np.fromfile(os.path.join(assets, "data/cifar-10-batches-bin/test_batch.bin"), np.uint8).reshape(-1, 3073)
    labels = raw[:N, 0].astype(int)
    pred = probs.argmax(axis=1)
    correct = int((pred == labels).sum())
    assert report["correct"] == correct and report["total"] == N, (report["correct"], correct)
    assert abs(report["accuracy"] - 100.0 * correct / N) < 1e-9
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, pred), 1)
    assert report["confusion"] == confusion.tolist()

    # EEMBC simplified AUC (mlcommons/tiny eval_functions_eembc.calculate_auc), vectorized.
    thresholds = np.arange(0.0, 1.01, 0.01)
    aucs = []
    for c in range(10):
        pos = labels == c
        above = probs[:, c][None, :] > thresholds[1:, None]
        tpr = np.concatenate([[1.0], (above & pos).sum(1) / pos.sum()])
        fpr = np.concatenate([[1.0], (above & ~pos).sum(1) / (~pos).sum()])
        aucs.append(np.sum(0.5 * (tpr[:-1] + tpr[1:]) * (fpr[:-1] - fpr[1:])))
    assert abs(report["auc"] - np.mean(aucs)) < 1e-9, (report["auc"], np.mean(aucs))

    # The input model is never overwritten, and outputs are not left half-written.
    model = os.path.join(tmp, "copy.h5")
    open(model, "wb").write(open(os.path.join(assets, "models/pretrainedResnet.h5"), "rb").read())
    before = open(model, "rb").read()
    bad = subprocess.run([tinyq, "eval", model, "--subset", "10", "--json", model], capture_output=True, text=True)
    assert bad.returncode != 0 and "refusing to overwrite" in bad.stderr, bad.stderr
    assert open(model, "rb").read() == before
    assert not [f for f in os.listdir(tmp) if ".tmp" in f], os.listdir(tmp)

print(f"1 passed, 0 failed: tinyq eval on {N} images agrees with NumPy (accuracy {100.0 * correct / N:.2f}%)")
