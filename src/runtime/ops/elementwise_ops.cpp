#include "core/error.h"
#include "kernels/reference/elementwise.h"
#include "runtime/ops/ops.h"

#include <limits>

namespace tinyq::runtime::ops {

const Tensor& constant_input(const ir::Graph& graph, const ir::Node& node, std::size_t index, const char* what) {
  if (index >= node.inputs.size() || !graph.is_initializer(node.inputs[index]))
    throw Error("node '" + node.name + "' (" + node.op_type + "): " + what + " must be a constant initializer");
  return graph.initializer(node.inputs[index]);
}

float optional_scalar(const ir::Graph& graph, const ir::Node& node, std::size_t index, float fallback) {
  if (index >= node.inputs.size() || !node.inputs[index].valid()) return fallback;
  const Tensor& t = constant_input(graph, node, index, "this input");
  if (t.element_count() != 1) throw Error("node '" + node.name + "': input " + std::to_string(index) + " must be a scalar");
  return t.data<float>()[0];
}

RunFn prepare_relu(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::relu_f32(in[0]->data<float>(), out[0].data<float>());
  };
}

RunFn prepare_clip(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  // Opset >= 11: min and max are optional constant inputs.
  const float lo = optional_scalar(graph, node, 1, -std::numeric_limits<float>::infinity());
  const float hi = optional_scalar(graph, node, 2, std::numeric_limits<float>::infinity());
  return [lo, hi](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::clip_f32(in[0]->data<float>(), lo, hi, out[0].data<float>());
  };
}

RunFn prepare_sigmoid(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::sigmoid_f32(in[0]->data<float>(), out[0].data<float>());
  };
}

RunFn prepare_tanh(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::tanh_f32(in[0]->data<float>(), out[0].data<float>());
  };
}

RunFn prepare_add(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::add_f32(in[0]->shape(), in[0]->data<float>(), in[1]->shape(), in[1]->data<float>(), out[0].shape(),
                     out[0].data<float>());
  };
}

}  // namespace tinyq::runtime::ops
