#pragma once
#include "ir/graph.h"

namespace tinyq::passes {

// Fuses a Relu or constant Clip that alone reads a Conv's output into that
// Conv, as ONNX Runtime's com.microsoft FusedConv (activation "Relu" or
// "Clip" with activation_params [min, max]). The result still runs in ONNX
// Runtime, and the executor applies the activation while the output is hot.
// Returns the number of fused activations.
int fuse_activation(ir::Graph& graph);

}  // namespace tinyq::passes
