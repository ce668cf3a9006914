#include <algorithm>

#include "core/error.h"
#include "kernels/reference/layout.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {

// Flatten, Reshape, Identity: the bytes as they are (a memory copy; no
// arithmetic, so no reference/fast split).
PreparedOp prepare_copy(const ir::Graph&, const ir::Node&, const OpOptions&) {
  return {[](std::span<const Tensor* const> in, std::span<Tensor> out) {
            std::copy(in[0]->bytes().begin(), in[0]->bytes().end(), out[0].bytes().begin());
          },
          "copy"};
}

PreparedOp prepare_transpose(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  std::vector<std::int64_t> perm = node.attr_ints("perm");
  if (perm.empty()) {
    const auto rank = graph.value(node.inputs[0]).shape.size();
    for (std::size_t i = rank; i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
  }
  return [perm](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::transpose(in[0]->shape(), perm, dtype_size(in[0]->dtype()), in[0]->bytes(), out[0].bytes());
  };
}

PreparedOp prepare_pad(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  const auto pads_span = constant_input(graph, node, 1, "pads").data<std::int64_t>();
  const std::vector<std::int64_t> pads(pads_span.begin(), pads_span.end());
  // The fill value is the optional third input, in the tensor's own type.
  Tensor fill(graph.value(node.inputs[0]).dtype, {});
  if (node.inputs.size() > 2 && node.inputs[2].valid()) {
    const Tensor& value = constant_input(graph, node, 2, "constant_value");
    if (value.dtype() != fill.dtype() || value.element_count() != 1)
      throw Error("node '" + node.name + "': constant_value must be one element of the input's type");
    fill = value.reshaped({});
  }
  return [pads, fill](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::pad_constant(in[0]->shape(), pads, fill.bytes(), in[0]->bytes(), out[0].bytes());
  };
}

}  // namespace tinyq::runtime::ops
