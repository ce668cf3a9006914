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
