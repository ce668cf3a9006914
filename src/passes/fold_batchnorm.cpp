#include "passes/fold_batchnorm.h"

#include <cmath>

namespace tinyq::passes {
namespace {

// A weight tensor this node alone reads may be rewritten in place; a shared one is copied.
ir::ValueId writable_constant(ir::Graph& graph, ir::NodeId owner, std::size_t input_index, const std::string& name) {
  ir::Node& node = graph.node(owner);
  const ir::ValueId id = node.inputs[input_index];
  if (graph.consumers(id).size() == 1 && !graph.is_graph_output(id)) return id;
  Tensor copy = graph.initializer(id);
  const ir::ValueId fresh = graph.add_initializer(graph.unique_name(name), std::move(copy));
  graph.node(owner).inputs[input_index] = fresh;
  return fresh;
}

}  // namespace

int fold_batchnorm(ir::Graph& graph) {
  std::vector<ir::NodeId> folded;
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    const ir::Node& bn = graph.nodes()[n];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.outputs.size() != 1) continue;
    const ir::ValueId x = bn.inputs[0];
    const auto producer_id = graph.producer(x);
    if (!producer_id || graph.consumers(x).size() != 1 || graph.is_graph_output(x)) continue;
    const ir::Node& producer = graph.node(*producer_id);
    const bool is_conv = producer.op_type == "Conv" && producer.domain.empty();
    const bool is_gemm = producer.op_type == "Gemm" && producer.attr_int("transB", 0) == 1 &&
                         producer.attr_int("transA", 0) == 0 && producer.attr_float("alpha", 1.f) == 1.f &&
                         producer.attr_float("beta", 1.f) == 1.f;
    if (!is_conv && !is_gemm) continue;
    bool constant = graph.is_initializer(producer.inputs[1]);
    for (std::size_t i = 1; i < 5; ++i) constant = constant && graph.is_initializer(bn.inputs[i]);
    if (producer.inputs.size() > 2) constant = constant && graph.is_initializer(producer.inputs[2]);
    if (!constant) continue;

    // Copies: adding initializers below may move the graph's value storage.
    auto read = [&](std::size_t i) {
      const auto span = graph.initializer(bn.inputs[i]).data<float>();
      return std::vector<float>(span.begin(), span.end());
    };
    const auto gamma = read(1), beta = read(2), mean = read(3), var = read(4);
    const float epsilon = bn.attr_float("epsilon", 1e-5f);
    const auto channels = static_cast<std::int64_t>(gamma.size());
    std::vector<float> scale(gamma.size());
    for (std::int64_t c = 0; c < channels; ++c) scale[c] = gamma[c] / std::sqrt(var[c] + epsilon);

    const std::string base = producer.name;
    const ir::ValueId bn_out = bn.outputs[0];
    const ir::NodeId pid = *producer_id;
    const ir::ValueId w_id = writable_constant(graph, pid, 1, base + "/weight");
    auto w = graph.value(w_id).initializer->data<float>();
    const std::size_t per_channel = w.size() / static_cast<std::size_t>(channels);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] *= scale[i / per_channel];

    ir::ValueId b_id;
    if (graph.node(pid).inputs.size() > 2 && graph.node(pid).inputs[2].valid()) {
      b_id = writable_constant(graph, pid, 2, base + "/bias");
    } else {
      b_id = graph.add_initializer(graph.unique_name(base + "/bias"), Tensor(DType::f32, {channels}));
      graph.node(pid).inputs.resize(3);
      graph.node(pid).inputs[2] = b_id;
    }
    auto b = graph.value(b_id).initializer->data<float>();
    for (std::int64_t c = 0; c < channels; ++c) b[c] = (b[c] - mean[c]) * scale[c] + beta[c];

    // The producer now writes the BatchNormalization's output directly.
    graph.node(pid).outputs[0] = bn_out;
    folded.push_back(ir::NodeId{n});
  }
  if (!folded.empty()) graph.remove_nodes(folded);
  return static_cast<int>(folded.size());
}

}  // namespace tinyq::passes
