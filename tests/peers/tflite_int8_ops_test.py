#!/usr/bin/env python3
"""int8 TFLite operators the official ResNet8 does not use, judged by TFLite's
own runtime: a small model written here (FlatBuffers JSON with tinyq's schema
subset, compiled by Debian's flatc) runs in the runtime (npm tfjs-tflite's
WebAssembly build) and in tinyq (`--requant xnnpack`, the default for
.tflite), and every int8 output value must be equal.

  input f32 [1,32,32,3] -> QUANTIZE -> CONV_2D 3x3 (per-channel, fused RELU6
  that clamps inside the int8 range) -> DEPTHWISE_CONV_2D 3x3/2 (per-channel,
  RELU6) -> PAD 1 -> MAX_POOL_2D 2x2/2 -> AVERAGE_POOL_2D 3x3/1 SAME (windows
  cut by the border) -> MEAN over H, W -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX,
  a second MEAN of the pooled tensor into other output parameters, and a MEAN
  of the convolution's 1024 values per channel (where ties occur)

(the operators of MLPerf Tiny's other int8 models: MobileNet for visual wake
words, DS-CNN for keyword spotting, the dense autoencoder for anomaly
detection). Every operator's output is the model output in turn (one file
each), so each is compared on its own.

Usage: tflite_int8_ops_test.py TINYQ FLATC SCHEMA.fbs TEST_BATCH.bin WORK_DIR [IMAGES]
"""
import json
import os
import subprocess
import sys

import numpy as np

tinyq, flatc, schema, test_batch, work = sys.argv[1:6]
images = int(sys.argv[6]) if len(sys.argv) > 6 else 200
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(7)

CODES = {"QUANTIZE": 114, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 4, "PAD": 34, "MAX_POOL_2D": 17, "AVERAGE_POOL_2D": 1, "MEAN": 40,
         "RESHAPE": 22, "FULLY_CONNECTED": 9, "SOFTMAX": 25}
act = {"scale": [0.05], "zero_point": [-128]}  # [0, 12.75]: RELU6 clamps at code -8


def model_json(output_tensor):
    buffers = [{}]

    def buffer(array):
        buffers.append({"data": list(np.ascontiguousarray(array).view(np.uint8).tobytes())})
        return len(buffers) - 1

    w = rng.integers(-127, 128, size=(8, 3, 3, 3), dtype=np.int8)  # OHWI
    w_scale = rng.uniform(1e-4, 3e-4, size=8).astype(np.float32)
    bias = rng.integers(-3000, 3000, size=8).astype(np.int32)
    dw = rng.integers(-127, 128, size=(1, 3, 3, 8), dtype=np.int8)  # 1HWC
    dw_scale = rng.uniform(6e-3, 1.2e-2, size=8).astype(np.float32)
    dw_bias = rng.integers(-200, 200, size=8).astype(np.int32)
    fc = rng.integers(-127, 128, size=(10, 8), dtype=np.int8)
    fc_bias = rng.integers(-2000, 2000, size=10).astype(np.int32)
    tensors = [
        {"name": "input", "shape": [1, 32, 32, 3], "type": "FLOAT32", "buffer": 0},
        {"name": "input_int8", "shape": [1, 32, 32, 3], "type": "INT8", "buffer": 0, "quantization": {"scale": [1.0], "zero_point": [-128]}},
        {"name": "conv/weights", "shape": [8, 3, 3, 3], "type": "INT8", "buffer": buffer(w),
         "quantization": {"scale": w_scale.tolist(), "zero_point": [0] * 8, "quantized_dimension": 0}},
        {"name": "conv/bias", "shape": [8], "type": "INT32", "buffer": buffer(bias),
         "quantization": {"scale": (w_scale * 1.0).tolist(), "zero_point": [0] * 8}},
        {"name": "conv", "shape": [1, 32, 32, 8], "type": "INT8", "buffer": 0, "quantization": act},
        {"name": "pad/paddings", "shape": [4, 2], "type": "INT32", "buffer": buffer(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))},
        {"name": "pad", "shape": [1, 18, 18, 8], "type": "INT8", "buffer": 0, "quantization": act},
        {"name": "max_pool", "shape": [1, 9, 9, 8], "type": "INT8", "buffer": 0, "quantization": act},
        {"name": "average_pool", "shape": [1, 9, 9, 8], "type": "INT8", "buffer": 0, "quantization": act},
        {"name": "mean/axes", "shape": [2], "type": "INT32", "buffer": buffer(np.array([1, 2], np.int32))},
        {"name": "mean", "shape": [1, 1, 1, 8], "type": "INT8", "buffer": 0, "quantization": act},
        {"name": "depthwise/weights", "shape": [1, 3, 3, 8], "type": "INT8", "buffer": buffer(dw),
         "quantization": {"scale": dw_scale.tolist(), "zero_point": [0] * 8, "quantized_dimension": 3}},
        {"name": "depthwise/bias", "shape": [8], "type": "INT32", "buffer": buffer(dw_bias),
         "quantization": {"scale": (dw_scale * 0.05).tolist(), "zero_point": [0] * 8}},
        {"name": "depthwise", "shape": [1, 16, 16, 8], "type": "INT8", "buffer": 0, "quantization": act},
        {"name": "reshape", "shape": [1, 8], "type": "INT8", "buffer": 0, "quantization": act},
        {"name": "dense/weights", "shape": [10, 8], "type": "INT8", "buffer": buffer(fc), "quantization": {"scale": [0.002], "zero_point": [0]}},
        {"name": "dense/bias", "shape": [10], "type": "INT32", "buffer": buffer(fc_bias), "quantization": {"scale": [0.05 * 0.002], "zero_point": [0]}},
        {"name": "dense", "shape": [1, 10], "type": "INT8", "buffer": 0, "quantization": {"scale": [0.02], "zero_point": [3]}},
        {"name": "softmax", "shape": [1, 10], "type": "INT8", "buffer": 0, "quantization": {"scale": [1 / 256], "zero_point": [-128]}},
        {"name": "mean_rescaled", "shape": [1, 1, 1, 8], "type": "INT8", "buffer": 0, "quantization": {"scale": [0.0137], "zero_point": [-77]}},
        {"name": "mean_of_conv", "shape": [1, 1, 1, 8], "type": "INT8", "buffer": 0, "quantization": act},
    ]
    codes = list(CODES)

    def op(name, inputs, outputs, options_type=None, options=None):
        o = {"opcode_index": codes.index(name), "inputs": inputs, "outputs": outputs}
        if options_type:
            o["builtin_options_type"], o["builtin_options"] = options_type, options
        return o

    ops = [
        op("QUANTIZE", [0], [1]),
        op("CONV_2D", [1, 2, 3], [4], "Conv2DOptions", {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU6"}),
        op("DEPTHWISE_CONV_2D", [4, 11, 12], [13], "DepthwiseConv2DOptions",
           {"padding": "SAME", "stride_w": 2, "stride_h": 2, "depth_multiplier": 1, "fused_activation_function": "RELU6"}),
        op("PAD", [13, 5], [6]),
        op("MAX_POOL_2D", [6], [7], "Pool2DOptions", {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2}),
        op("AVERAGE_POOL_2D", [7], [8], "Pool2DOptions", {"padding": "SAME", "stride_w": 1, "stride_h": 1, "filter_width": 3, "filter_height": 3}),
        op("MEAN", [8, 9], [10], "ReducerOptions", {"keep_dims": True}),
        op("RESHAPE", [10], [14], "ReshapeOptions", {"new_shape": [1, 8]}),
        op("FULLY_CONNECTED", [14, 15, 16], [17], "FullyConnectedOptions", {"fused_activation_function": "NONE"}),
        op("SOFTMAX", [17], [18], "SoftmaxOptions", {"beta": 1.0}),
        op("MEAN", [8, 9], [19], "ReducerOptions", {"keep_dims": True}),  # other output parameters: rescaled
    ]
    # Over 32 x 32 = 1024 values, the average is sometimes exactly halfway:
    # the runtime (XNNPACK) rounds those ties to even.
    ops.append(op("MEAN", [4, 9], [20], "ReducerOptions", {"keep_dims": True}))
    if output_tensor == 19:
        ops = ops[:6] + ops[-2:-1]
    if output_tensor == 20:
        ops = ops[:2] + ops[-1:]
    last = {4: 2, 13: 3, 6: 4, 7: 5, 8: 6, 10: 7, 14: 8, 17: 9, 18: 10, 19: 7, 20: 3}[output_tensor]
    return {
        "version": 3,
        "operator_codes": [{"deprecated_builtin_code": CODES[c], "builtin_code": CODES[c], "version": 1} for c in codes],
        "subgraphs": [{"tensors": tensors, "inputs": [0], "outputs": [output_tensor], "operators": ops[:last], "name": "main"}],
        "buffers": buffers,
        "description": "tinyq int8 operator test",
    }


failures = 0
for output_tensor, name in [(4, "conv"), (13, "depthwise"), (6, "pad"), (7, "max_pool"), (8, "average_pool"), (10, "mean"),
                            (17, "dense"), (18, "softmax"), (19, "mean_rescaled"), (20, "mean_of_conv")]:
    rng = np.random.default_rng(7)  # the same weights in every file
    stem = os.path.join(work, f"int8_ops_{name}")
    with open(stem + ".json", "w") as f:
        json.dump(model_json(output_tensor), f)
    subprocess.run([flatc, "-b", "-o", work, schema, stem + ".json"], check=True)
    model = stem + ".tflite"
    os.replace(stem + ".bin", model)
    subprocess.run(["node", os.path.join(here, "tflite_run.mjs"), model, test_batch, stem + ".runtime.npy", str(images)],
                   check=True, stdout=subprocess.PIPE)
    subprocess.run([tinyq, "run", model, "--input", test_batch, "--tensor", name, "--out", stem + ".tinyq.npy"], check=True,
                   stdout=subprocess.DEVNULL)
    runtime = np.load(stem + ".runtime.npy").astype(np.int64)
    ours = np.load(stem + ".tinyq.npy")[:images]
    if ours.ndim == 4:
        ours = ours.transpose(0, 2, 3, 1)  # NCHW -> TFLite's NHWC order
    ours = ours.reshape(len(ours), -1).astype(np.int64)
    differ = int((ours != runtime).sum()) if ours.shape == runtime.shape else -1
    clamped = int((runtime == -8).sum())
    distinct = len(np.unique(runtime))
    ok = differ == 0
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {differ} of {runtime.size:,} int8 values differ from TFLite's runtime "
          f"({images} images; {distinct} distinct values, {clamped:,} at RELU6's clamp)")
# How many of mean_of_conv's averages were exact ties (sum = 512 mod 1024).
conv = np.load(os.path.join(work, "int8_ops_conv.runtime.npy")).astype(np.int64).reshape(images, 1024, 8).sum(1)
print(f"     mean_of_conv: {int((conv % 1024 == 512).sum())} of its averages are exactly halfway between two codes")
sys.exit(1 if failures else 0)
