#pragma once
#include "ir/graph.h"

namespace tinyq::passes {

// Replaces every DequantizeLinear whose input, scale and zero point are
// constants (the weights and biases of a QDQ op left in float, such as an s8
// Conv that ONNX Runtime's x86 build does not fuse) with its float result as
// an initializer: the same values, computed once instead of per run, and
// constant weights let the fast kernels pack them. Returns the number folded.
int fold_constant_dequantize(ir::Graph& graph);

}  // namespace tinyq::passes
