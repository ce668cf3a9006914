#include "passes/quantization_prep.h"

#include "ir/shape_inference.h"
#include "ir/verifier.h"

namespace tinyq::passes {

int average_pool_to_global(ir::Graph& graph) {
  int changed = 0;
  for (ir::Node& node : graph.nodes()) {
    if (node.op_type != "AveragePool" || !node.domain.empty()) continue;
    const Shape& x = graph.value(node.inputs[0]).shape;
    if (x.size() != 4) continue;
    const auto kernel = node.attr_ints("kernel_shape");
    const auto pads = ir::spatial_pads(node, 2);
    const bool unpadded = pads == std::vector<std::int64_t>{0, 0, 0, 0};
    if (kernel != std::vector<std::int64_t>{x[2], x[3]} || !unpadded || node.attr_int("ceil_mode", 0)) continue;
    node.op_type = "GlobalAveragePool";
    node.attributes.clear();
    ++changed;
  }
  if (changed) ir::verify(graph);
  return changed;
}

int gemm_to_pointwise_conv(ir::Graph& graph) {
  int changed = 0;
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    ir::Node gemm = graph.nodes()[n];
    if (gemm.op_type != "Gemm" || !gemm.domain.empty() || gemm.attr_int("transB", 0) != 1 || gemm.attr_int("transA", 0) ||
        gemm.attr_float("alpha", 1.f) != 1.f || gemm.attr_float("beta", 1.f) != 1.f || !graph.is_initializer(gemm.inputs[1]))
      continue;
    const auto flat_id = graph.producer(gemm.inputs[0]);
    if (!flat_id) continue;
    const ir::Node flatten = graph.node(*flat_id);
    if (flatten.op_type != "Flatten" || flatten.attr_int("axis", 1) != 1 || graph.consumers(gemm.inputs[0]).size() != 1) continue;
    const Shape x = graph.value(flatten.inputs[0]).shape;
    if (x.size() != 4 || x[2] != 1 || x[3] != 1) continue;
    if (gemm.inputs.size() > 2 && graph.value(gemm.inputs[2]).shape != Shape{graph.value(gemm.inputs[1]).shape[0]}) continue;

    // Weight [out, in] -> [out, in, 1, 1]; same bytes.
    const Tensor w = graph.initializer(gemm.inputs[1]);
    const ir::ValueId w4 = graph.add_initializer(graph.unique_name(graph.value(gemm.inputs[1]).name + "_1x1"),
                                                 w.reshaped({w.shape()[0], w.shape()[1], 1, 1}));
    const ir::ValueId conv_out = graph.add_value(graph.unique_name(gemm.name + "/conv1x1"), DType::f32, {x[0], w.shape()[0], 1, 1});
    ir::Node conv{gemm.name, "Conv", "", {flatten.inputs[0], w4}, {conv_out}, {{"kernel_shape", std::vector<std::int64_t>{1, 1}}}, gemm.origin};
    if (gemm.inputs.size() > 2) conv.inputs.push_back(gemm.inputs[2]);
    ir::Node new_flatten{flatten.name, "Flatten", "", {conv_out}, gemm.outputs, {{"axis", std::int64_t{1}}}, flatten.origin};
    graph.nodes()[flat_id->index] = conv;  // the Flatten's slot now holds the Conv
    graph.nodes()[n] = new_flatten;
    ++changed;
  }
  if (changed) {
    graph.compact();
    ir::verify(graph);
  }
  return changed;
}

}  // namespace tinyq::passes
