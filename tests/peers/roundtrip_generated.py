#!/usr/bin/env python3
"""Round trip of every generated Keras model (all supported layers, both
paddings, stride 2, depthwise, Dense after a spatial Flatten, ...):
tinyq convert -> ONNX (plain, --fold-bn, --input-layout nhwc) run by ONNX
Runtime, and -> TorchScript / eager PyTorch run by PyTorch. Each output is
compared with TensorFlow.js's (the Keras answer) and with tinyq's own run.

Usage: roundtrip_generated.py TINYQ FIXTURE_DIR WORK_DIR"""
import os
import subprocess
import sys

import numpy as np
import onnx

tinyq, fixtures, work = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-5
failures, checks = [], 0


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def check(label, got, expected):
    global checks
    checks += 1
    diff = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))
    ok = got.shape == expected.shape and diff <= TOL * (1 + float(np.max(np.abs(expected))))
    print(f"{'ok  ' if ok else 'FAIL'} {label:<44} max diff {diff:.3g}")
    if not ok:
        failures.append(label)


for name in open(os.path.join(fixtures, "models.txt")).read().split():
    src = os.path.join(fixtures, name)
    keras_in = np.load(os.path.join(src, "input_keras.npy"))
    expected = np.load(os.path.join(src, "expected_keras.npy"))
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    nchw = keras_in.transpose(0, 3, 1, 2) if keras_in.ndim == 4 else keras_in
    np.save(os.path.join(d, "input_nchw.npy"), np.ascontiguousarray(nchw))
    np.save(os.path.join(d, "input_nhwc.npy"), keras_in)

    run(tinyq, "run", os.path.join(src, "model.h5"), "--input", os.path.join(d, "input_nchw.npy"),
        "--out", os.path.join(d, "tinyq.npy"))
    ours = np.load(os.path.join(d, "tinyq.npy"))

    variants = [("plain", []), ("fold-bn", ["--fold-bn"])]
    if keras_in.ndim == 4:
        variants.append(("nhwc", ["--input-layout", "nhwc", "--to", "onnx"]))
    for variant, flags in variants:
        out = os.path.join(d, variant)
        run(tinyq, "convert", os.path.join(src, "model.h5"), "--out", out, *flags)
        onnx_path = os.path.join(out, "model.onnx")
        onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
        feed = "input_nhwc.npy" if variant == "nhwc" else "input_nchw.npy"
        run("node", os.path.join(here, "ort_run.mjs"), onnx_path, os.path.join(d, feed), os.path.join(out, "ort.npy"))
        ort_out = np.load(os.path.join(out, "ort.npy"))
        check(f"{name} onnxruntime ({variant}) vs tfjs", ort_out, expected)
        check(f"{name} onnxruntime ({variant}) vs tinyq", ort_out, ours)
        # tinyq reads its own export back.
        run(tinyq, "run", onnx_path, "--input", os.path.join(d, feed), "--out", os.path.join(out, "tinyq_onnx.npy"))
        check(f"{name} tinyq on its ONNX ({variant}) vs tfjs", np.load(os.path.join(out, "tinyq_onnx.npy")), expected)
        if variant != "nhwc":
            run("/usr/bin/python3", os.path.join(here, "torch_run.py"), out, "model", os.path.join(d, "input_nchw.npy"),
                os.path.join(out, "torch"))
            for kind in ["torchscript", "eager"]:
                check(f"{name} pytorch {kind} ({variant}) vs tfjs", np.load(os.path.join(out, f"torch_{kind}.npy")), expected)

print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
