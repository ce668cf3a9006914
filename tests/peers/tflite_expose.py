#!/usr/bin/env python3
"""Copies a .tflite model with its subgraph's output replaced by another
tensor, so that TFLite's runtime reports an intermediate tensor (its web
runner shows only outputs). The flatbuffer is patched in place: the output
list's one entry gets the new tensor index, nothing else changes.

Usage: tflite_expose.py MODEL.tflite TENSOR_INDEX OUT.tflite"""
import struct
import sys

src, index, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
buf = bytearray(open(src, "rb").read())


def u32(at):
    return struct.unpack_from("<I", buf, at)[0]


def field(table, field_id):
    """Absolute position of a table field, or None when absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    vsize = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * field_id
    if slot >= vsize:
        return None
    off = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + off if off else None


def deref(at):  # an offset field -> the object it points to
    return at + u32(at)


model = u32(0)
subgraphs = deref(field(model, 2))           # Model.subgraphs (field 2)
subgraph = deref(subgraphs + 4)              # element 0
outputs = deref(field(subgraph, 2))          # SubGraph.outputs (field 2)
if u32(outputs) != 1:
    sys.exit(f"{src}: expected one output, found {u32(outputs)}")
struct.pack_into("<i", buf, outputs + 4, index)
open(out, "wb").write(buf)
