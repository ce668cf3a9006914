#pragma once
// Prepare functions, one per op (grouped a file per op family).
#include "runtime/op_registry.h"

namespace tinyq::runtime::ops {

RunFn prepare_conv(const ir::Graph&, const ir::Node&, const OpOptions&);  // Conv and com.microsoft FusedConv
RunFn prepare_gemm(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_matmul(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_average_pool(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_max_pool(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_global_average_pool(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_relu(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_clip(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_sigmoid(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_tanh(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_add(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_batchnorm(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_softmax(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_copy(const ir::Graph&, const ir::Node&, const OpOptions&);  // Flatten, Reshape, Identity: same bytes, new shape
RunFn prepare_transpose(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_pad(const ir::Graph&, const ir::Node&, const OpOptions&);

RunFn prepare_quantize_linear(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_dequantize_linear(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_qlinear_conv(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_qlinear_matmul(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_qlinear_add(const ir::Graph&, const ir::Node&, const OpOptions&);
RunFn prepare_qlinear_global_average_pool(const ir::Graph&, const ir::Node&, const OpOptions&);

// Shared helpers for prepare functions.
using ir::constant_input;
// The scalar value of an optional constant input, or `fallback` when omitted.
float optional_scalar(const ir::Graph& graph, const ir::Node& node, std::size_t index, float fallback);

}  // namespace tinyq::runtime::ops
