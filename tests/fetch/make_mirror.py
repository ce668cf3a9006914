#!/usr/bin/env python3
"""Lays out a local mirror of tinyq's upstream files, copied from an assets
folder: the mlcommons/tiny paths, and cifar-10-binary.tar.gz rebuilt from the
CIFAR-10 batches (with members tinyq must skip). Also a copy with one damaged
file, and one missing a required file, for the failure tests.

Usage: make_mirror.py ASSETS OUT"""
import os
import shutil
import sys
import tarfile

assets, out = sys.argv[1], sys.argv[2]
repo_files = {
    "models/pretrainedResnet.h5": "benchmark/training/image_classification/trained_models/pretrainedResnet.h5",
    "models/pretrainedResnet.tflite": "benchmark/training/image_classification/trained_models/pretrainedResnet.tflite",
    "models/pretrainedResnet_quant.tflite":
        "benchmark/training/image_classification/trained_models/pretrainedResnet_quant.tflite",
    "models/perf_samples_idxs.npy": "benchmark/training/image_classification/perf_samples_idxs.npy",
    "models/ic01_y_labels.csv": "benchmark/evaluation/datasets/ic01/y_labels.csv",
    "models/calibration_samples_idxs.npy": "v0.1/training/image_classification/calibration_samples_idxs.npy",
}


def build(root, damaged=None, missing=None):
    shutil.rmtree(root, ignore_errors=True)
    for local, remote in repo_files.items():
        if remote == missing:
            continue
        dest = os.path.join(root, remote)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.join(assets, local), dest)
        if remote == damaged:
            with open(dest, "r+b") as f:
                f.seek(1000)
                byte = f.read(1)
                f.seek(1000)
                f.write(bytes([byte[0] ^ 0xFF]))


main = os.path.join(out, "good")
build(main)
with tarfile.open(os.path.join(main, "cifar-10-binary.tar.gz"), "w:gz", compresslevel=1) as tar:
    cifar = os.path.join(assets, "data", "cifar-10-batches-bin")
    tar.add(os.path.join(cifar, "batches.meta.txt"), "cifar-10-batches-bin/batches.meta.txt")
    tar.add(os.path.join(cifar, "data_batch_1.bin"), "cifar-10-batches-bin/data_batch_1.bin")
    tar.add(os.path.join(cifar, "test_batch.bin"), "cifar-10-batches-bin/test_batch.bin")
    # A member that must not be extracted: tinyq takes only what it needs, by name.
    info = tarfile.TarInfo("../../outside.txt")
    data = b"never written anywhere\n"
    info.size = len(data)
    import io
    tar.addfile(info, io.BytesIO(data))
h5 = "benchmark/training/image_classification/trained_models/pretrainedResnet.h5"
build(os.path.join(out, "damaged"), damaged=h5)
build(os.path.join(out, "missing"), missing=h5)
for variant in ("damaged", "missing"):
    os.symlink(os.path.join(main, "cifar-10-binary.tar.gz"), os.path.join(out, variant, "cifar-10-binary.tar.gz"))
print("mirror in", out)
