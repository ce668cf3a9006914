#include "passes/fuse_activation.h"

#include <limits>

namespace tinyq::passes {
int fuse_activation(ir::Graph& graph) {
  std::vector<ir::NodeId> fused;
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    const ir::Node& act = graph.nodes()[n];
    if ((act.op_type != "Relu" && act.op_type != "Clip") || !act.domain.empty()) continue;
    const ir::ValueId x = act.inputs[0];
    const auto producer_id = graph.producer(x);
    if (!producer_id || graph.consumers(x).size() != 1 || graph.is_graph_output(x)) continue;
    ir::Node& conv = graph.node(*producer_id);
    if (conv.op_type != "Conv" || !conv.domain.empty()) continue;
    if (act.op_type == "Clip") {
      const auto lo = ir::constant_scalar(graph, act, 1, -std::numeric_limits<float>::infinity());
      const auto hi = ir::constant_scalar(graph, act, 2, std::numeric_limits<float>::infinity());
      if (!lo || !hi) continue;
      conv.attributes["activation"] = std::string("Clip");
      conv.attributes["activation_params"] = std::vector<float>{*lo, *hi};
    } else {
      conv.attributes["activation"] = std::string("Relu");
    }
    conv.op_type = "FusedConv";
    conv.domain = "com.microsoft";
    conv.outputs[0] = act.outputs[0];
    fused.push_back(ir::NodeId{n});
  }
  if (!fused.empty()) graph.remove_nodes(fused);
  return static_cast<int>(fused.size());
}

}  // namespace tinyq::passes
