#pragma once
// Rewrites a quantized graph in QOperator form (QLinearConv, and ONNX
// Runtime's QLinearAdd, QLinearGlobalAveragePool, QLinearSoftmax) into QDQ
// form: DequantizeLinear -> the float operator -> QuantizeLinear, the form
// ONNX Runtime's quantization tools write and its graph optimizer fuses back
// into its own integer kernels. Scales and zero points stay as they were; a
// convolution's int32 bias gets the scale x_scale * w_scale QDQ requires.
#include "ir/graph.h"

namespace tinyq::passes {

// Returns the number of operators rewritten.
int qoperator_to_qdq(ir::Graph& graph);

}  // namespace tinyq::passes
