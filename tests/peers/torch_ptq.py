#!/usr/bin/env python3
"""PyTorch's own post-training quantization of the tinyq-exported eager
module, as a peer for `tinyq compare`: eager mode torch.ao.quantization with
engine onednn and its default qconfig, calibrated on the same images.

Usage: torch_ptq.py MODEL_DIR STEM CALIB.bin CALIB_INDICES.npy TEST.bin PERF_INDICES.npy
Prints one JSON line: {"accuracy": %, "accuracy_perf200": %, "engine": ..., "qconfig": ...}."""
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import DeQuantStub, QuantStub, convert, fuse_modules, get_default_qconfig, prepare

model_dir, stem, calib_bin, calib_idx, test_bin, perf_idx = sys.argv[1:7]
torch.set_num_threads(2)
torch.backends.quantized.engine = "onednn"


def images(path):
    raw = np.fromfile(path, np.uint8).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32), raw[:, 0].astype(np.int64)


spec = importlib.util.spec_from_file_location(stem, os.path.join(model_dir, stem + ".py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = module.load_model(os.path.join(model_dir, stem + "_state_dict.pt"))

# A final Softmax stays float: replace it by the identity (argmax is unchanged).
children = list(model.named_children())
if children and isinstance(children[-1][1], nn.Softmax):
    setattr(model, children[-1][0], nn.Identity())

# Fuse Conv2d -> BatchNorm2d [-> ReLU] where tinyq's generated module lists
# them consecutively (it emits modules in graph order, so a BatchNorm right
# after a Conv2d reads that conv).
names = [(n, m) for n, m in model.named_children()]
groups, i = [], 0
while i < len(names):
    if i + 1 < len(names) and isinstance(names[i][1], nn.Conv2d) and isinstance(names[i + 1][1], nn.BatchNorm2d):
        group = [names[i][0], names[i + 1][0]]
        if i + 2 < len(names) and isinstance(names[i + 2][1], nn.ReLU):
            group.append(names[i + 2][0])
        groups.append(group)
        i += len(group)
    else:
        i += 1
fuse_modules(model, groups, inplace=True)


class Quantized(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.quant, self.inner, self.dequant = QuantStub(), inner, DeQuantStub()

    def forward(self, x):
        return self.dequant(self.inner(self.quant(x)))


wrapped = Quantized(model).eval()
wrapped.qconfig = get_default_qconfig("onednn")
prepare(wrapped, inplace=True)
calib_x, _ = images(calib_bin)
calib_x = calib_x[np.load(calib_idx)]
start = time.time()
with torch.no_grad():
    for b in range(0, len(calib_x), 100):
        wrapped(torch.from_numpy(calib_x[b:b + 100]))
calibration_seconds = time.time() - start
convert(wrapped, inplace=True)

test_x, labels = images(test_bin)
start = time.time()
with torch.no_grad():
    pred = np.concatenate([wrapped(torch.from_numpy(test_x[b:b + 250])).argmax(1).numpy() for b in range(0, len(test_x), 250)])
eval_seconds = time.time() - start
perf = np.load(perf_idx)
print(json.dumps({"accuracy": 100.0 * float(np.mean(pred == labels)),
                  "accuracy_perf200": 100.0 * float(np.mean(pred[perf] == labels[perf])),
                  "engine": "onednn", "qconfig": "get_default_qconfig('onednn')", "fused_groups": len(groups),
                  "torch": torch.__version__, "calibration_seconds": calibration_seconds,
                  "eval_seconds": eval_seconds, "eval_images": len(test_x)}))
