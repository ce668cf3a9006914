#include "passes/fuse_residual_add.h"

namespace tinyq::passes {

int fuse_residual_add(ir::Graph& graph) {
  std::vector<ir::NodeId> doomed;
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    const ir::Node& add = graph.nodes()[n];
    if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2) continue;
    const ir::ValueId sum = add.outputs[0];
    const auto readers = graph.consumers(sum);
    if (readers.size() != 1 || graph.is_graph_output(sum)) continue;
    const ir::Node& relu = graph.node(readers[0]);
    if (relu.op_type != "Relu" || !relu.domain.empty()) continue;
    // Which operand is the convolution's output (the other is z): where both
    // are, the one computed last, whose output is still in cache (a ResNet
    // block's main branch; the other is its projection shortcut).
    const auto p0 = graph.producer(add.inputs[0]), p1 = graph.producer(add.inputs[1]);
    const int first_side = p0 && (!p1 || p0->index > p1->index) ? 0 : 1;
    for (int side : {first_side, 1 - first_side}) {
      const ir::ValueId conv_out = add.inputs[side], z = add.inputs[1 - side];
      const auto producer = graph.producer(conv_out);
      if (!producer || graph.consumers(conv_out).size() != 1 || graph.is_graph_output(conv_out)) continue;
      const ir::Node& conv = graph.node(*producer);
      // (With its bias: the sum is the fourth input, and an omitted third
      // would leave it third among the inputs present.)
      if (conv.op_type != "Conv" || !conv.domain.empty() || conv.inputs.size() != 3 || !conv.inputs[2].valid()) continue;
      const Shape &a = graph.value(conv_out).shape, &b = graph.value(z).shape;
      if (a.size() != 4 || a != b || graph.value(conv_out).dtype != DType::f32 || graph.value(z).dtype != DType::f32) continue;
      ir::Node fused = conv;
      fused.op_type = "FusedConv";
      fused.domain = "com.microsoft";
      fused.attributes["activation"] = std::string("Relu");
      fused.inputs.push_back(z);
      fused.outputs = {relu.outputs[0]};
      doomed.push_back(*producer);
      doomed.push_back(readers[0]);
      graph.node(ir::NodeId{n}) = std::move(fused);
      break;
    }
  }
  if (!doomed.empty()) graph.remove_nodes(doomed);
  return static_cast<int>(doomed.size() / 2);
}

}  // namespace tinyq::passes
