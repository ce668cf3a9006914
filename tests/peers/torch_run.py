#!/usr/bin/env python3
"""PyTorch (Debian python3-torch) as the judge of tinyq's PyTorch exports.

Usage: torch_run.py MODEL_DIR STEM INPUT OUT_PREFIX [--threads N]
Runs STEM.torchscript.pt (torch.jit.load) and STEM.py + STEM_state_dict.pt
(the eager module) on INPUT (a CIFAR-10 .bin batch or a float32 .npy) and
writes OUT_PREFIX_torchscript.npy and OUT_PREFIX_eager.npy."""
import importlib.util
import os
import sys
import time

import numpy as np
import torch

model_dir, stem, input_path, out_prefix = sys.argv[1:5]
torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2)

if input_path.endswith(".bin"):
    raw = np.fromfile(input_path, np.uint8).reshape(-1, 3073)
    x = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32)
else:
    x = np.load(input_path).astype(np.float32)

spec = importlib.util.spec_from_file_location(stem, os.path.join(model_dir, stem + ".py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
eager = module.load_model(os.path.join(model_dir, stem + "_state_dict.pt"))
scripted = torch.jit.load(os.path.join(model_dir, stem + ".torchscript.pt")).eval()

for name, model in [("torchscript", scripted), ("eager", eager)]:
    start = time.time()
    with torch.no_grad():
        y = torch.cat([model(torch.from_numpy(x[i:i + 250])) for i in range(0, len(x), 250)]).numpy()
    np.save(f"{out_prefix}_{name}.npy", y.astype(np.float32))
    print(f"pytorch {torch.__version__} {name}: {len(x)} inputs in {time.time() - start:.2f} s")
