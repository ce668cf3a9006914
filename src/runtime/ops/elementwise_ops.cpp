#include "core/error.h"
#include "kernels/reference/elementwise.h"
#include "runtime/ops/ops.h"

#include <limits>

namespace tinyq::runtime::ops {

float optional_scalar(const ir::Graph& graph, const ir::Node& node, std::size_t index, float fallback) {
  const auto v = ir::constant_scalar(graph, node, index, fallback);
  if (!v) throw Error("node '" + node.name + "': input " + std::to_string(index) + " must be a constant f32 scalar");
  return *v;
}

PreparedOp prepare_relu(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::relu_f32(in[0]->data<float>(), out[0].data<float>());
  };
}

PreparedOp prepare_clip(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  // Opset >= 11: min and max are optional constant inputs.
  const float lo = optional_scalar(graph, node, 1, -std::numeric_limits<float>::infinity());
  const float hi = optional_scalar(graph, node, 2, std::numeric_limits<float>::infinity());
  return [lo, hi](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::clip_f32(in[0]->data<float>(), lo, hi, out[0].data<float>());
  };
}

PreparedOp prepare_sigmoid(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::sigmoid_f32(in[0]->data<float>(), out[0].data<float>());
  };
}

PreparedOp prepare_tanh(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::tanh_f32(in[0]->data<float>(), out[0].data<float>());
  };
}

PreparedOp prepare_add(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::add_f32(in[0]->shape(), in[0]->data<float>(), in[1]->shape(), in[1]->data<float>(), out[0].shape(),
                     out[0].data<float>());
  };
}

}  // namespace tinyq::runtime::ops
