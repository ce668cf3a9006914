#!/usr/bin/env python3
"""Writes small Keras 2.x .h5 models (the layout TF 2.x's model.save writes)
with h5py, plus the same model in TensorFlow.js layers form, so that
run_tfjs.mjs can compute Keras' own answer for tinyq's importer tests.

Also writes malformed variants for the importer's error tests.

Usage: make_keras_models.py OUT_DIR
"""
import json
import os
import shutil
import sys

import h5py
import numpy as np

RNG = np.random.default_rng(20261126)


class Model:
    """A Keras functional model described layer by layer."""

    def __init__(self, name):
        self.name = name
        self.layers = []   # Keras layer dicts in config order
        self.weights = {}  # layer name -> [(weight name, array)]
        self.inputs = []
        self.outputs = []

    def input(self, name, shape):
        self.layers.append({"class_name": "InputLayer", "name": name, "inbound_nodes": [],
                            "config": {"batch_input_shape": [None, *shape], "dtype": "float32",
                                       "sparse": False, "ragged": False, "name": name}})
        self.inputs.append([name, 0, 0])
        return name

    def layer(self, cls, name, inputs, weights=(), **config):
        inputs = inputs if isinstance(inputs, list) else [inputs]
        config = {"name": name, "trainable": True, "dtype": "float32", **config}
        self.layers.append({"class_name": cls, "name": name, "config": config,
                            "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]]})
        self.weights[name] = list(weights)
        return name

    def output(self, name):
        self.outputs.append([name, 0, 0])

    def config(self):
        if getattr(self, "sequential", False):
            # Keras' Sequential form: no inbound_nodes, names inside each config,
            # the input shape on the first layer.
            layers = []
            for layer in self.layers:
                if layer["class_name"] == "InputLayer":
                    continue
                layers.append({"class_name": layer["class_name"], "config": dict(layer["config"])})
            layers[0]["config"]["batch_input_shape"] = self.layers[0]["config"]["batch_input_shape"]
            return {"class_name": "Sequential", "config": {"name": self.name, "layers": layers}}
        return {"class_name": getattr(self, "class_name", "Functional"),
                "config": {"name": self.name, "layers": self.layers,
                           "input_layers": self.inputs, "output_layers": self.outputs}}


def randn(*shape, scale=0.5):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def conv(m, name, x, cin, filters, k, strides=1, padding="same", activation="linear", use_bias=True,
         dilation=1):
    k = (k, k) if isinstance(k, int) else k
    w = [("kernel", randn(k[0], k[1], cin, filters, scale=1.0 / np.sqrt(k[0] * k[1] * cin)))]
    if use_bias:
        w.append(("bias", randn(filters, scale=0.1)))
    return m.layer("Conv2D", name, x, w, filters=filters, kernel_size=list(k), strides=[strides, strides],
                   padding=padding, data_format="channels_last", dilation_rate=[dilation, dilation], groups=1,
                   activation=activation, use_bias=use_bias)


def depthwise(m, name, x, cin, k, strides=1, padding="same", multiplier=1, activation="linear"):
    w = [("depthwise_kernel", randn(k, k, cin, multiplier, scale=1.0 / k)), ("bias", randn(cin * multiplier, scale=0.1))]
    return m.layer("DepthwiseConv2D", name, x, w, kernel_size=[k, k], strides=[strides, strides], padding=padding,
                   data_format="channels_last", dilation_rate=[1, 1], depth_multiplier=multiplier,
                   activation=activation, use_bias=True)


def batchnorm(m, name, x, c, epsilon=0.001):
    w = [("gamma", (1 + randn(c, scale=0.2))), ("beta", randn(c, scale=0.2)), ("moving_mean", randn(c, scale=0.3)),
         ("moving_variance", (0.5 + RNG.random(c)).astype(np.float32))]
    return m.layer("BatchNormalization", name, x, w, axis=[3] if m.rank4.get(x, True) else [1], momentum=0.99,
                   epsilon=epsilon, center=True, scale=True)


def dense(m, name, x, fin, units, activation="linear"):
    return m.layer("Dense", name, x, [("kernel", randn(fin, units, scale=1.0 / np.sqrt(fin))),
                                      ("bias", randn(units, scale=0.1))],
                   units=units, activation=activation, use_bias=True)


def build_models():
    models = []

    m = Model("conv_paddings"); m.rank4 = {}
    x = m.input("input_1", (8, 8, 3))
    x = conv(m, "conv_s2_same", x, 3, 4, 3, strides=2, activation="relu")          # asymmetric pad 0/1
    x = conv(m, "conv_valid_rect", x, 4, 5, (3, 2), padding="valid", use_bias=False)
    x = conv(m, "conv_dilated", x, 5, 6, 3, dilation=2, activation="relu6")
    x = conv(m, "conv_s2_odd", x, 6, 3, 3, strides=2)                              # 2x3 input, stride 2 'same'
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")
    x = dense(m, "dense", x, 1 * 2 * 3, 7, activation="softmax")
    m.output(x)
    models.append((m, (8, 8, 3)))

    m = Model("depthwise_bn"); m.rank4 = {}
    x = m.input("input_1", (7, 7, 4))
    x = depthwise(m, "dw_s2", x, 4, 3, strides=2, multiplier=2, activation="relu")
    x = batchnorm(m, "bn", x, 8, epsilon=0.01)
    x = m.layer("ReLU", "relu6", x, max_value=6.0, negative_slope=0.0, threshold=0.0)
    x = depthwise(m, "dw_valid", x, 8, 3, padding="valid")
    x = m.layer("Activation", "tanh", x, activation="tanh")
    x = m.layer("GlobalAveragePooling2D", "gap", x, data_format="channels_last")
    x = dense(m, "dense", x, 8, 5, activation="sigmoid")
    m.output(x)
    models.append((m, (7, 7, 4)))

    m = Model("pools_padding"); m.rank4 = {}
    x = m.input("input_1", (10, 10, 3))
    x = m.layer("ZeroPadding2D", "zeropad", x, padding=[[1, 2], [0, 1]], data_format="channels_last")
    x = conv(m, "conv", x, 3, 4, 3, padding="valid", activation="relu")
    x = m.layer("MaxPooling2D", "maxpool_same", x, pool_size=[3, 3], strides=[2, 2], padding="same",
                data_format="channels_last")
    x = m.layer("AveragePooling2D", "avgpool_same", x, pool_size=[2, 2], strides=[2, 2], padding="same",
                data_format="channels_last")
    x = m.layer("MaxPooling2D", "maxpool_valid", x, pool_size=[2, 2], strides=None, padding="valid",
                data_format="channels_last")
    x = conv(m, "conv1x1", x, 4, 4, 1)
    x = m.layer("Dropout", "dropout", x, rate=0.5, noise_shape=None, seed=None)
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")
    x = dense(m, "dense", x, 4, 6)
    x = m.layer("Softmax", "softmax", x, axis=-1)
    m.output(x)
    models.append((m, (10, 10, 3)))

    m = Model("residual"); m.rank4 = {}
    x = m.input("input_1", (8, 8, 3))
    x = conv(m, "conv", x, 3, 8, 3)
    x = batchnorm(m, "bn", x, 8)
    x = m.layer("Activation", "relu", x, activation="relu")
    a = conv(m, "branch_s2", x, 8, 8, 3, strides=2)
    b = conv(m, "shortcut_s2", x, 8, 8, 1, strides=2)
    x = m.layer("Add", "add", [a, b])
    x = m.layer("Activation", "relu_2", x, activation="relu")
    x = m.layer("AveragePooling2D", "avgpool", x, pool_size=[2, 2], strides=[2, 2], padding="valid",
                data_format="channels_last")
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")   # 2x2x8: order matters
    x = dense(m, "dense", x, 2 * 2 * 8, 10, activation="softmax")
    m.output(x)
    models.append((m, (8, 8, 3)))

    m = Model("mlp_bn"); m.rank4 = {"input_1": False, "dense_1": False}
    x = m.input("input_1", (20,))
    x = dense(m, "dense_1", x, 20, 16, activation="relu")
    m.rank4[x] = False
    x = batchnorm(m, "bn", x, 16)
    x = m.layer("Dropout", "dropout", x, rate=0.2, noise_shape=None, seed=None)
    x = dense(m, "dense_2", x, 16, 8, activation="tanh")
    x = m.layer("Reshape", "reshape", x, target_shape=[2, 4])
    x = dense(m, "dense_seq", x, 4, 3)                                  # Dense on a 3-D tensor
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")
    x = m.layer("Activation", "sigmoid", x, activation="sigmoid")
    m.output(x)
    models.append((m, (20,)))

    m = Model("reshape_spatial"); m.rank4 = {}
    x = m.input("input_1", (4, 4, 2))
    x = conv(m, "conv", x, 2, 3, 3, strides=2)
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")   # marked, then restored for output
    x = m.layer("Activation", "linear", x, activation="linear")
    x = m.layer("Reshape", "reshape", x, target_shape=[2, 2, 3])
    x = conv(m, "conv_after_reshape", x, 3, 2, 1)
    x = m.layer("Flatten", "flatten_out", x, data_format="channels_last")
    m.output(x)
    models.append((m, (4, 4, 2)))

    m = Model("sequential_cnn"); m.rank4 = {}
    m.sequential = True
    x = m.input("input_1", (6, 6, 2))
    x = conv(m, "conv", x, 2, 4, 3, strides=2, activation="relu")
    x = m.layer("MaxPooling2D", "pool", x, pool_size=[2, 2], strides=None, padding="valid", data_format="channels_last")
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")
    x = dense(m, "dense", x, 4, 3, activation="softmax")
    m.output(x)
    models.append((m, (6, 6, 2)))

    # Identity Dense after a spatial Flatten: the output is the input in Keras'
    # NHWC flatten order, a value the test derives by hand.
    m = Model("flatten_order"); m.rank4 = {}
    x = m.input("input_1", (2, 3, 2))
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")
    x = m.layer("Dense", "identity", x, [("kernel", np.eye(12, dtype=np.float32)), ("bias", np.zeros(12, np.float32))],
                units=12, activation="linear", use_bias=True)
    m.output(x)
    models.append((m, (2, 3, 2)))
    models.extend(build_tolerance_models())
    return models


def build_tolerance_models():
    """Configs in the other forms Keras itself reads (and some Keras versions
    write): booleans as 0/1, keys left out for their defaults, axis as an int
    or a one-element list, the Keras 2.13+ layout with module/registered_name/
    build_config, the Keras <= 2.3 class name 'Model'. TensorFlow.js reads the
    same config (its own camelCase conversion), so it judges each form."""
    models = []

    # BatchNormalization center/scale and use_bias written as 0/1.
    m = Model("tolerant_bools_as_ints"); m.rank4 = {}
    x = m.input("input_1", (6, 6, 3))
    x = m.layer("Conv2D", "conv_no_bias", x, [("kernel", randn(3, 3, 3, 4, scale=0.3))], filters=4, kernel_size=[3, 3],
                strides=[1, 1], padding="same", data_format="channels_last", dilation_rate=[1, 1], groups=1,
                activation="linear", use_bias=0)
    x = m.layer("BatchNormalization", "bn_no_center", x,
                [("gamma", 1 + randn(4, scale=0.2)), ("moving_mean", randn(4, scale=0.3)),
                 ("moving_variance", (0.5 + RNG.random(4)).astype(np.float32))],
                axis=[3], momentum=0.99, epsilon=0.001, center=0, scale=1)
    x = m.layer("BatchNormalization", "bn_no_scale", x,
                [("beta", randn(4, scale=0.2)), ("moving_mean", randn(4, scale=0.3)),
                 ("moving_variance", (0.5 + RNG.random(4)).astype(np.float32))],
                axis=[3], momentum=0.99, epsilon=0.001, center=1, scale=0)
    x = m.layer("GlobalAveragePooling2D", "gap", x, data_format="channels_last", keepdims=0)
    x = m.layer("Dense", "dense", x, [("kernel", randn(4, 5)), ("bias", randn(5, scale=0.1))], units=5,
                activation="softmax", use_bias=1)
    m.output(x)
    models.append((m, (6, 6, 3)))

    # Only the keys Keras requires; everything else takes Keras' default
    # (strides 1, padding 'valid', linear activation, bias on, BN axis -1 and
    # epsilon 1e-3, pool size 2 with strides = pool size, zero padding 1, Softmax axis -1).
    m = Model("tolerant_defaults_omitted"); m.rank4 = {}
    x = m.input("input_1", (7, 7, 2))
    x = m.layer("ZeroPadding2D", "zeropad", x)
    x = m.layer("Conv2D", "conv", x, [("kernel", randn(3, 3, 2, 4, scale=0.3)), ("bias", randn(4, scale=0.1))],
                filters=4, kernel_size=3)
    x = m.layer("BatchNormalization", "bn", x,
                [("gamma", 1 + randn(4, scale=0.2)), ("beta", randn(4, scale=0.2)), ("moving_mean", randn(4, scale=0.3)),
                 ("moving_variance", (0.5 + RNG.random(4)).astype(np.float32))])
    x = m.layer("Activation", "relu", x, activation="relu")
    x = m.layer("MaxPooling2D", "pool", x)
    x = m.layer("AveragePooling2D", "avgpool", x, pool_size=1)
    x = m.layer("Flatten", "flatten", x)
    x = m.layer("Dense", "dense", x, [("kernel", randn(36, 6, scale=0.3)), ("bias", randn(6, scale=0.1))], units=6)
    x = m.layer("Softmax", "softmax", x)
    m.output(x)
    models.append((m, (7, 7, 2)))

    # axis as an int and as a one-element list, in both layers that take one.
    m = Model("tolerant_axis_forms"); m.rank4 = {}
    x = m.input("input_1", (4, 4, 3))
    x = batchnorm(m, "bn_list", x, 3)
    x = batchnorm(m, "bn_int", x, 3)
    m.layers[-1]["config"]["axis"] = 3
    x = batchnorm(m, "bn_minus_one", x, 3)
    m.layers[-1]["config"]["axis"] = [-1]
    # Keras reads [-1] as the last axis; TensorFlow.js only takes it as a number.
    m.tfjs_patch = {"bn_minus_one": {"axis": -1}}
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")
    x = dense(m, "dense", x, 48, 4)
    x = m.layer("Softmax", "softmax", x, axis=[-1])
    m.output(x)
    models.append((m, (4, 4, 3)))

    # Keras 2.13-2.15 layout: module, registered_name and build_config on every
    # layer, initializers as nested objects.
    m = Model("tolerant_keras_2_13_layout"); m.rank4 = {}
    x = m.input("input_1", (6, 6, 2))
    x = conv(m, "conv", x, 2, 3, 3, strides=2, activation="relu")
    x = m.layer("Flatten", "flatten", x, data_format="channels_last")
    x = dense(m, "dense", x, 27, 4, activation="softmax")
    m.output(x)
    shapes = {"input_1": None, "conv": [None, 6, 6, 2], "flatten": [None, 3, 3, 3], "dense": [None, 27]}
    for layer in m.layers:
        layer["config"] = dict(layer["config"])
        layer["module"] = "keras.layers"
        layer["registered_name"] = None
        if shapes.get(layer["name"]):
            layer["build_config"] = {"input_shape": shapes[layer["name"]]}
        if layer["class_name"] in ("Conv2D", "Dense"):
            layer["config"]["kernel_initializer"] = {"module": "keras.initializers", "class_name": "GlorotUniform",
                                                     "config": {"seed": None}, "registered_name": None}
            layer["config"]["bias_initializer"] = {"module": "keras.initializers", "class_name": "Zeros",
                                                   "config": {}, "registered_name": None}
    models.append((m, (6, 6, 2)))

    # Keras <= 2.3 (TensorFlow <= 2.3) names a functional model 'Model' and
    # writes no 'ragged' key; padding in upper case is lowered by Keras.
    m = Model("tolerant_keras_2_3_model_class"); m.rank4 = {}
    m.class_name = "Model"
    x = m.input("input_1", (5, 5, 2))
    del m.layers[0]["config"]["ragged"]
    x = conv(m, "conv", x, 2, 3, 3, activation="relu")
    m.layers[-1]["config"]["padding"] = "SAME"
    m.tfjs_patch = {"conv": {"padding": "same"}}  # TensorFlow.js takes only lower case
    x = m.layer("GlobalAveragePooling2D", "gap", x, data_format="channels_last")
    x = dense(m, "dense", x, 3, 2, activation="sigmoid")
    m.output(x)
    models.append((m, (5, 5, 2)))
    return models


def write_h5(path, config, weights, layer_names):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.4.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = "2.4.0"
        for layer in layer_names:
            g = mw.create_group(layer)
            ws = weights.get(layer, [])
            # Keras writes an empty float array, not a string array, for weightless layers.
            g.attrs["weight_names"] = (np.array([f"{layer}/{w}:0".encode() for w, _ in ws]) if ws
                                       else np.zeros((0,), dtype=np.float32))
            for w, value in ws:
                g.create_dataset(f"{layer}/{w}:0", data=value)


def tfjs_topology(model):
    """The config as TensorFlow.js reads it: the same, except where a model
    patches a form that Keras accepts and TensorFlow.js does not."""
    config = json.loads(json.dumps(model.config()))
    for layer in config["config"]["layers"]:
        name = layer.get("name", layer["config"].get("name"))
        layer["config"].update(getattr(model, "tfjs_patch", {}).get(name, {}))
    return config


def write_tfjs(directory, model):
    specs, blobs = [], []
    for layer in model.layers:
        for w, value in model.weights.get(layer["name"], []):
            specs.append({"name": f"{layer['name']}/{w}", "shape": list(value.shape), "dtype": "float32"})
            blobs.append(value.astype("<f4").tobytes())
    with open(os.path.join(directory, "tfjs_model.json"), "w") as f:
        json.dump({"modelTopology": {**tfjs_topology(model), "keras_version": "2.4.0", "backend": "tensorflow"},
                   "weightSpecs": specs}, f)
    with open(os.path.join(directory, "tfjs_weights.bin"), "wb") as f:
        f.write(b"".join(blobs))


def write_model(out, model, input_shape):
    d = os.path.join(out, model.name)
    os.makedirs(d, exist_ok=True)
    names = [l["name"] for l in model.layers if not (getattr(model, "sequential", False) and l["class_name"] == "InputLayer")]
    write_h5(os.path.join(d, "model.h5"), model.config(), model.weights, names)
    write_tfjs(d, model)
    np.save(os.path.join(d, "input_keras.npy"), (RNG.standard_normal((3, *input_shape)) * 2).astype(np.float32))
    return d


def write_malformed(out, good):
    """Broken variants of the residual model, one defect each."""
    d = os.path.join(out, "malformed")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(good, "model.h5")
    data = open(src, "rb").read()
    open(os.path.join(d, "truncated.h5"), "wb").write(data[: len(data) // 2])
    open(os.path.join(d, "not_hdf5.h5"), "w").write("this is not an HDF5 file\n")

    def variant(name, edit):
        path = os.path.join(d, name + ".h5")
        shutil.copy(src, path)
        with h5py.File(path, "r+") as f:
            cfg = json.loads(f.attrs["model_config"])
            edit(f, cfg)
            f.attrs["model_config"] = json.dumps(cfg)

    def layer(cfg, name):
        return next(l for l in cfg["config"]["layers"] if l["name"] == name)

    variant("missing_weight", lambda f, cfg: f["model_weights/conv"].__delitem__("conv/kernel:0"))

    def wrong_shape(f, cfg):
        del f["model_weights/conv/conv/kernel:0"]
        f["model_weights/conv"].create_dataset("conv/kernel:0", data=np.zeros((3, 3, 3, 7), np.float32))
    variant("wrong_shape", wrong_shape)

    def unknown_layer(f, cfg):
        layer(cfg, "relu")["class_name"] = "LSTM"
    variant("unknown_layer", unknown_layer)

    def cyclic(f, cfg):
        layer(cfg, "conv")["inbound_nodes"] = [[["relu", 0, 0, {}]]]
    variant("cyclic", cyclic)

    def absurd_filters(f, cfg):
        layer(cfg, "conv")["config"]["filters"] = 1 << 40
    variant("absurd_filters", absurd_filters)

    def absurd_dataset(f, cfg):
        # A header that claims 2^40 floats but stores none (chunked, unwritten).
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense"].create_dataset("dense/kernel:0", shape=(1 << 20, 1 << 20), dtype="f4",
                                                chunks=(16, 16))
    variant("absurd_dataset", absurd_dataset)

    def absurd_input(f, cfg):
        layer(cfg, "input_1")["config"]["batch_input_shape"] = [None, 1 << 30, 1 << 30, 3]
    variant("absurd_input", absurd_input)

    def unsupported_option(f, cfg):
        layer(cfg, "conv")["config"]["padding"] = "causal"
    variant("unsupported_option", unsupported_option)

    def config_is_number(f, cfg):
        pass
    variant("config_is_number", config_is_number)
    with h5py.File(os.path.join(d, "config_is_number.h5"), "r+") as f:
        f.attrs["model_config"] = "22"

    def no_config(f, cfg):
        pass
    variant("no_config", no_config)
    with h5py.File(os.path.join(d, "no_config.h5"), "r+") as f:
        del f.attrs["model_config"]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    dirs = [write_model(out, m, shape) for m, shape in build_models()]
    write_malformed(out, next(p for p in dirs if p.endswith("residual")))
    with open(os.path.join(out, "models.txt"), "w") as f:
        f.write("\n".join(os.path.basename(p) for p in dirs) + "\n")


if __name__ == "__main__":
    main()
