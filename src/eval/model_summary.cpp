#include "eval/model_summary.h"

#include <set>

namespace tinyq::eval {
namespace {

std::int64_t per_image(const Shape& shape) { return element_count(Shape(shape.begin() + 1, shape.end())); }

std::int64_t macs_of(const ir::Graph& graph, const ir::Node& node) {
  const Shape& out = graph.value(node.outputs[0]).shape;
  if (node.op_type == "Conv" || node.op_type == "FusedConv" || node.op_type == "QLinearConv") {
    const std::size_t w = node.op_type == "QLinearConv" ? 3 : 1;
    const Shape& ws = graph.value(node.inputs[w]).shape;  // O, I/group, kh, kw
    return per_image(out) * element_count(Shape(ws.begin() + 1, ws.end()));
  }
  if (node.op_type == "Gemm" || node.op_type == "MatMul") {
    const Shape& a = graph.value(node.inputs[0]).shape;
    const bool trans_a = node.attr_int("transA", 0) != 0;
    const std::int64_t k = trans_a ? a[0] : a.back();
    return per_image(out) * k;
  }
  return 0;
}

// Which inputs of a node can hold parameters: the weights and bias of the
// QLinear ops, the stored integers of a Q/DQ pair; for other ops every input.
bool is_parameter_input(const ir::Node& node, std::size_t k) {
  if (node.op_type == "QLinearConv") return k == 3 || k == 8;
  if (node.op_type == "QLinearMatMul") return k == 3;
  if (node.op_type == "QuantizeLinear" || node.op_type == "DequantizeLinear") return k == 0;
  if (node.op_type.rfind("QLinear", 0) == 0) return false;  // activations, scales and zero points only
  return true;
}

}  // namespace

ModelSummary summarize(const ir::Graph& graph) {
  ModelSummary summary;
  std::set<std::uint32_t> counted;  // a shared weight counts once
  for (const ir::Node& node : graph.nodes()) {
    NodeSummary row{node.name, node.domain.empty() ? node.op_type : node.domain + ":" + node.op_type, node.origin,
                    graph.value(node.outputs[0]).shape, 0, macs_of(graph, node)};
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      const ir::ValueId in = node.inputs[k];
      // Scalars (Clip bounds) are not parameters; only tensors of weights
      // count, float or quantized, but not the scales and zero points that
      // come with quantized ones.
      if (!in.valid() || !graph.is_initializer(in) || graph.value(in).shape.empty() || !is_parameter_input(node, k) ||
          !counted.insert(in.index).second)
        continue;
      row.params += static_cast<std::int64_t>(graph.initializer(in).element_count());
    }
    if (node.op_type == "BatchNormalization") summary.batchnorm_params += row.params;
    else summary.weight_params += row.params;
    summary.total_params += row.params;
    summary.total_macs += row.macs;
    summary.nodes.push_back(std::move(row));
  }
  return summary;
}

}  // namespace tinyq::eval
