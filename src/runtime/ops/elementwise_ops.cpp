#include "core/error.h"
#include "kernels/reference/elementwise.h"
#include "runtime/ops/ops.h"

#include <algorithm>
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

// Clip on integers: the quantizer confines an activation to fewer than 8 bits
// by clamping the codes after QuantizeLinear (ONNX Clip has int8/uint8 kernels
// since opset 12, so ONNX Runtime runs the same clamp).
template <typename T>
PreparedOp prepare_integer_clip(const ir::Graph& graph, const ir::Node& node) {
  auto bound = [&](std::size_t index, T fallback) -> T {
    if (index >= node.inputs.size() || !node.inputs[index].valid()) return fallback;
    if (!graph.is_initializer(node.inputs[index]) || graph.initializer(node.inputs[index]).element_count() != 1 ||
        graph.initializer(node.inputs[index]).dtype() != graph.value(node.inputs[0]).dtype)
      throw Error("node '" + node.name + "': Clip bound " + std::to_string(index) + " must be a constant scalar of the input's type");
    return graph.initializer(node.inputs[index]).data<T>()[0];
  };
  const T lo = bound(1, std::numeric_limits<T>::lowest()), hi = bound(2, std::numeric_limits<T>::max());
  return [lo, hi](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const auto x = in[0]->data<T>();
    const auto y = out[0].data<T>();
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = std::min(std::max(x[i], lo), hi);
  };
}

PreparedOp prepare_clip(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  const DType type = graph.value(node.inputs[0]).dtype;
  if (type == DType::u8) return prepare_integer_clip<std::uint8_t>(graph, node);
  if (type == DType::s8) return prepare_integer_clip<std::int8_t>(graph, node);
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
