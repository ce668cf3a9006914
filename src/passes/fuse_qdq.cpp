#include "passes/fuse_qdq.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "ir/shape_inference.h"
#include "ir/verifier.h"

namespace tinyq::passes {
namespace {

using ir::Graph;
using ir::Node;
using ir::NodeId;
using ir::ValueId;

bool is(const Node& n, const char* op) { return n.op_type == op && n.domain.empty(); }

// The DequantizeLinear producing `v`, if any.
const Node* dq_of(const Graph& g, ValueId v) {
  const auto p = g.producer(v);
  return p && is(g.node(*p), "DequantizeLinear") ? &g.node(*p) : nullptr;
}

// The single QuantizeLinear reading `v` (and nothing else reads `v`).
std::optional<NodeId> sole_q_consumer(const Graph& g, ValueId v) {
  if (g.is_graph_output(v)) return std::nullopt;
  const auto readers = g.consumers(v);
  if (readers.size() != 1 || !is(g.node(readers[0]), "QuantizeLinear")) return std::nullopt;
  return readers[0];
}

bool per_tensor(const Graph& g, const Node& qdq) {
  return g.is_initializer(qdq.inputs[1]) && g.initializer(qdq.inputs[1]).element_count() == 1;
}

// Scale and zero point inputs of a Q/DQ node (the zero point may be omitted:
// then a u8 zero is materialized so the QLinear op has all its inputs).
std::pair<ValueId, ValueId> params_of(Graph& g, const Node& qdq) {
  ValueId zp = qdq.inputs.size() > 2 ? qdq.inputs[2] : ValueId{};
  if (!zp.valid()) zp = g.add_initializer(g.unique_name(qdq.name + "/zero_point"), Tensor(DType::u8, {}));
  return {qdq.inputs[1], zp};
}

bool same_constant(const Graph& g, ValueId a, ValueId b) {
  if (a == b) return true;
  if (!g.is_initializer(a) || !g.is_initializer(b)) return false;
  const Tensor& ta = g.initializer(a);
  const Tensor& tb = g.initializer(b);
  return ta.dtype() == tb.dtype() && ta.byte_size() == tb.byte_size() &&
         std::memcmp(ta.bytes().data(), tb.bytes().data(), ta.byte_size()) == 0;
}

// ONNX Runtime's x86 build runs QDQS8ToU8Transformer before fusing: every
// s8 QuantizeLinear whose only reader is a DequantizeLinear with the same
// scalar zero point (and whose output is not a graph output, and the DQ's
// output read by one node only) becomes u8 with
// zero point + 128. x - zp is unchanged, so integer results are the same, but
// the fused ops then take their u8 paths (and an s8 Conv becomes a u8
// QLinearConv instead of staying in float). Mirrored here.
void convert_s8_pairs_to_u8(Graph& graph) {
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    const Node q = graph.nodes()[n];
    if (!is(q, "QuantizeLinear") || q.inputs.size() != 3 || !q.inputs[2].valid()) continue;
    if (graph.value(q.outputs[0]).dtype != DType::s8 || graph.is_graph_output(q.outputs[0])) continue;
    const auto readers = graph.consumers(q.outputs[0]);
    if (readers.size() != 1 || !is(graph.node(readers[0]), "DequantizeLinear")) continue;
    const Node& dq = graph.node(readers[0]);
    if (dq.inputs.size() != 3 || !dq.inputs[2].valid()) continue;
    // ONNX Runtime first gives every reader of a DequantizeLinear its own copy
    // (EnsureUniqueDQForNodeUnit), so a DQ read by two nodes (a residual
    // branch: the next Conv and the Add) leaves its Q with two readers: s8.
    if (graph.consumers(dq.outputs[0]).size() != 1) continue;
    if (!graph.is_initializer(q.inputs[2]) || !graph.is_initializer(dq.inputs[2])) continue;
    const Tensor &qz = graph.initializer(q.inputs[2]), &dqz = graph.initializer(dq.inputs[2]);
    if (qz.dtype() != DType::s8 || dqz.dtype() != DType::s8 || qz.element_count() != 1 || dqz.element_count() != 1) continue;
    if (qz.data<std::int8_t>()[0] != dqz.data<std::int8_t>()[0]) continue;
    Tensor u8_zp(DType::u8, qz.shape());
    u8_zp.data<std::uint8_t>()[0] = static_cast<std::uint8_t>(qz.data<std::int8_t>()[0] + 128);
    const ValueId zp = graph.add_initializer(graph.unique_name(q.name + "/zero_point_u8"), std::move(u8_zp));
    const NodeId dq_id = readers[0];
    graph.nodes()[n].inputs[2] = zp;
    graph.node(dq_id).inputs[2] = zp;
    graph.value(q.outputs[0]).dtype = DType::u8;
  }
}

}  // namespace

int fuse_qdq(Graph& graph, FuseTarget target) {
  if (target == FuseTarget::onnxruntime_x86) convert_s8_pairs_to_u8(graph);
  int fused = 0;
  std::vector<NodeId> doomed;
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    const Node node = graph.nodes()[n];  // a copy: the graph grows below
    if (!node.domain.empty() || node.outputs.size() != 1 || node.inputs.empty()) continue;
    const auto q_id = sole_q_consumer(graph, node.outputs[0]);
    if (!q_id) continue;
    const Node q = graph.node(*q_id);
    if (!per_tensor(graph, q)) continue;
    const Node* dq_x = dq_of(graph, node.inputs[0]);
    if (!dq_x || !per_tensor(graph, *dq_x)) continue;
    const Node dx = *dq_x;

    Node fused_node;
    fused_node.name = node.name;
    fused_node.origin = node.origin;
    fused_node.attributes = node.attributes;
    fused_node.outputs = q.outputs;
    const auto [x_scale, x_zp] = params_of(graph, dx);
    const auto [y_scale, y_zp] = params_of(graph, q);

    if ((is(node, "Conv") || is(node, "MatMul")) && node.inputs.size() >= 2) {
      // ONNX Runtime's Conv and MatMul selectors: u8 activations only on x86,
      // and the output of the input's type (a u8 input whose s8 output pair
      // was not rewritten to u8 stays a float Conv between Q/DQ).
      if (target == FuseTarget::onnxruntime_x86 &&
          (graph.value(dx.inputs[0]).dtype != DType::u8 || graph.value(q.outputs[0]).dtype != DType::u8))
        continue;
      const Node* dq_w = dq_of(graph, node.inputs[1]);
      if (!dq_w || !graph.is_initializer(dq_w->inputs[0])) continue;
      const Node dw = *dq_w;
      const auto [w_scale, w_zp] = params_of(graph, dw);
      fused_node.op_type = is(node, "Conv") ? "QLinearConv" : "QLinearMatMul";
      fused_node.inputs = {dx.inputs[0], x_scale, x_zp, dw.inputs[0], w_scale, w_zp, y_scale, y_zp};
      if (is(node, "Conv") && node.inputs.size() > 2 && node.inputs[2].valid()) {
        const Node* dq_b = dq_of(graph, node.inputs[2]);
        if (!dq_b || !graph.is_initializer(dq_b->inputs[0]) || graph.value(dq_b->inputs[0]).dtype != DType::s32) continue;
        fused_node.inputs.push_back(dq_b->inputs[0]);
      }
      fused_node.attributes.erase("axis");
    } else if (is(node, "Add") && node.inputs.size() == 2) {
      const Node* dq_b = dq_of(graph, node.inputs[1]);
      if (!dq_b || !per_tensor(graph, *dq_b)) continue;
      // ONNX Runtime fuses a binary op only when both inputs and the output
      // have one element type (after its s8-to-u8 rewrite they may not).
      if (graph.value(dq_b->inputs[0]).dtype != graph.value(dx.inputs[0]).dtype ||
          graph.value(q.outputs[0]).dtype != graph.value(dx.inputs[0]).dtype)
        continue;
      const Node db = *dq_b;
      const auto [b_scale, b_zp] = params_of(graph, db);
      fused_node.op_type = "QLinearAdd";
      fused_node.domain = "com.microsoft";
      fused_node.inputs = {dx.inputs[0], x_scale, x_zp, db.inputs[0], b_scale, b_zp, y_scale, y_zp};
    } else if (is(node, "GlobalAveragePool")) {
      if (graph.value(q.outputs[0]).dtype != graph.value(dx.inputs[0]).dtype) continue;  // as ONNX Runtime's selector
      fused_node.op_type = "QLinearGlobalAveragePool";
      fused_node.domain = "com.microsoft";
      fused_node.inputs = {dx.inputs[0], x_scale, x_zp, y_scale, y_zp};
      fused_node.attributes["channels_last"] = std::int64_t{0};
    } else if (is(node, "MaxPool") || is(node, "Flatten") || is(node, "Reshape") || is(node, "Transpose")) {
      // Pure data movement (and max) commutes with quantization when the
      // output keeps the input's scale and zero point.
      if (!same_constant(graph, x_scale, y_scale) || !same_constant(graph, x_zp, y_zp)) continue;
      fused_node.op_type = node.op_type;
      fused_node.inputs = node.inputs;
      fused_node.inputs[0] = dx.inputs[0];
    } else {
      continue;
    }
    graph.nodes()[n] = std::move(fused_node);
    doomed.push_back(*q_id);
    ++fused;
  }
  if (fused == 0) return 0;
  // Dequantize nodes nobody reads any more go with the fused Q nodes. One
  // pass suffices: a DequantizeLinear never reads another one's output.
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    const Node& node = graph.nodes()[n];
    bool read = graph.is_graph_output(node.outputs[0]);
    for (NodeId reader : graph.consumers(node.outputs[0]))
      read = read || std::find(doomed.begin(), doomed.end(), reader) == doomed.end();
    if (is(node, "DequantizeLinear") && !read) doomed.push_back(NodeId{n});
  }
  graph.remove_nodes(doomed);
  // Shapes of the moved data ops now describe quantized tensors.
  ir::infer_shapes(graph);
  ir::verify(graph);
  return fused;
}

}  // namespace tinyq::passes
