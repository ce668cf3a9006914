#pragma once
#include "ir/graph.h"

namespace tinyq::passes {

// Fuses Relu(Add(Conv(x), z)), the join of a residual block, into one
// com.microsoft FusedConv with z as its fourth input, the "sum" input that
// ONNX Runtime's FusedConv also takes: y = Relu(conv(x) + bias + z). The
// executor then adds z and applies the ReLU while the convolution's output
// is in cache, instead of two more passes over the tensor. Only a Conv with a
// bias (every Conv after BatchNorm folding) whose output nothing else reads,
// and an Add of two tensors of the same shape whose sum only the Relu reads. The fused node takes the Add's place in the
// node order (after z is computed) and the Conv's name. Returns the number of
// fused blocks.
int fuse_residual_add(ir::Graph& graph);

}  // namespace tinyq::passes
