#pragma once
// Everything a QLinearConv / QLinearMatMul node's integer arithmetic needs,
// read from the graph once: zero points, per-channel multipliers (float in
// ONNX Runtime's order, and fixed-point), geometry. Shared by the executor's
// op, the golden-vector writer and the operation reference, so they can never
// disagree.
#include <vector>

#include "ir/graph.h"
#include "kernels/reference/quantized.h"
#include "runtime/op_registry.h"

namespace tinyq::runtime::ops {

// Input positions of QLinearConv / QLinearMatMul (ONNX), by name: every
// reader of such a node (the executor's op, golden vectors, the operation
// reference) uses these instead of bare numbers.
namespace qlinear_input {
inline constexpr std::size_t x = 0, x_scale = 1, x_zero_point = 2, w = 3, w_scale = 4, w_zero_point = 5, y_scale = 6,
                             y_zero_point = 7, bias = 8;
}
// ... and of com.microsoft QLinearAdd.
namespace qlinear_add_input {
inline constexpr std::size_t a = 0, a_scale = 1, a_zero_point = 2, b = 3, b_scale = 4, b_zero_point = 5, c_scale = 6,
                             c_zero_point = 7;
}

// A QLinearConv's int32 bias input, if it has one.
inline bool has_qlinear_bias(const ir::Node& node) {
  return node.inputs.size() > qlinear_input::bias && node.inputs[qlinear_input::bias].valid();
}

struct QLinearParams {
  float x_scale = 1, y_scale = 1;
  std::int32_t x_zero_point = 0, y_zero_point = 0;
  std::vector<float> w_scales;
  std::vector<std::int32_t> w_zero_points;
  std::vector<float> multipliers;   // x_scale * w_scale / y_scale, in float, left to right
  std::vector<double> real_multipliers;
  kernels::Requantizer requantizer;
  kernels::Conv2DParams geometry;   // QLinearConv only; batch and sizes filled per run
};

QLinearParams qlinear_params(const ir::Graph& graph, const ir::Node& node, const OpOptions& options);

// Scales and zero points of Q/DQ-style inputs (constant initializers).
std::vector<float> constant_scales(const ir::Graph& graph, const ir::Node& node, std::size_t index);
std::vector<std::int32_t> constant_zero_points(const ir::Graph& graph, const ir::Node& node, std::size_t index);

}  // namespace tinyq::runtime::ops
