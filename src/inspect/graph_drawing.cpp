#include "inspect/graph_drawing.h"

#include <graphviz/gvc.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>
#include <sstream>

#include "core/error.h"

namespace tinyq::inspect {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string type_of(const ir::Value& v) { return std::string(dtype_name(v.dtype)) + shape_to_string(v.shape); }

bool is_quantized(const ir::Node& n) {
  return n.op_type.rfind("QLinear", 0) == 0 || n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear";
}

// A scalar or short constant as text; longer ones by type only.
std::string constant_text(const ir::Value& v) {
  const Tensor& t = *v.initializer;
  if (t.element_count() == 1) {
    char b[32];
    switch (t.dtype()) {
      case DType::f32: std::snprintf(b, sizeof b, "%.5g", t.data<float>()[0]); break;
      case DType::u8: std::snprintf(b, sizeof b, "%d", t.data<std::uint8_t>()[0]); break;
      case DType::s8: std::snprintf(b, sizeof b, "%d", t.data<std::int8_t>()[0]); break;
      case DType::s32: std::snprintf(b, sizeof b, "%d", t.data<std::int32_t>()[0]); break;
      case DType::s64: std::snprintf(b, sizeof b, "%lld", static_cast<long long>(t.data<std::int64_t>()[0])); break;
    }
    return b;
  }
  return type_of(v);
}

// Input names ONNX gives the quantized ops' operands, for readable labels.
std::string operand_name(const ir::Node& n, std::size_t i) {
  static const char* conv[] = {"x", "x_scale", "x_zero_point", "W", "w_scale", "w_zero_point", "y_scale", "y_zero_point", "B"};
  static const char* add[] = {"A", "A_scale", "A_zero_point", "B", "B_scale", "B_zero_point", "C_scale", "C_zero_point"};
  static const char* pool[] = {"X", "x_scale", "x_zero_point", "y_scale", "y_zero_point"};
  static const char* q[] = {"x", "scale", "zero_point"};
  if ((n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul") && i < 9) return conv[i];
  if (n.op_type == "QLinearAdd" && i < 8) return add[i];
  if (n.op_type == "QLinearGlobalAveragePool" && i < 5) return pool[i];
  if ((n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") && i < 3) return q[i];
  static const char* plain[] = {"X", "W", "B", "C", "D"};
  return i < 5 ? plain[i] : "in" + std::to_string(i);
}

// Residual blocks: for each two-input Add, the nodes on the paths from the
// fork (the latest common ancestor) to the Add.
std::vector<std::set<std::size_t>> residual_blocks(const ir::Graph& g) {
  std::vector<int> producer(g.values().size(), -1);
  for (std::size_t n = 0; n < g.nodes().size(); ++n)
    for (ir::ValueId o : g.nodes()[n].outputs) producer[o.index] = static_cast<int>(n);
  std::function<void(ir::ValueId, std::set<std::size_t>&)> ancestors = [&](ir::ValueId v, std::set<std::size_t>& out) {
    if (!v.valid() || producer[v.index] < 0) return;
    const auto p = static_cast<std::size_t>(producer[v.index]);
    if (!out.insert(p).second) return;
    for (ir::ValueId in : g.nodes()[p].inputs) ancestors(in, out);
  };
  std::vector<std::set<std::size_t>> blocks;
  for (std::size_t n = 0; n < g.nodes().size(); ++n) {
    const ir::Node& node = g.nodes()[n];
    if (node.op_type != "Add" && node.op_type != "QLinearAdd") continue;
    const std::size_t b_index = node.op_type == "Add" ? 1 : 3;
    if (g.is_initializer(node.inputs[0]) || g.is_initializer(node.inputs[b_index])) continue;
    std::set<std::size_t> a, b, block;
    ancestors(node.inputs[0], a);
    ancestors(node.inputs[b_index], b);
    for (auto x : a)
      if (!b.count(x)) block.insert(x);
    for (auto x : b)
      if (!a.count(x)) block.insert(x);
    block.insert(n);
    blocks.push_back(block);
  }
  return blocks;
}

}  // namespace

std::string graph_to_dot(const ir::Graph& g, Detail detail) {
  std::ostringstream dot;
  dot << "digraph \"" << escape(g.name) << "\" {\n"
      << "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, nodesep=0.25, ranksep=0.3];\n"
      << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, penwidth=0.8];\n"
      << "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\", arrowsize=0.6];\n";
  for (ir::ValueId in : g.inputs())
    dot << "  \"in:" << escape(g.value(in).name) << "\" [shape=ellipse, fillcolor=\"#eeeeee\", label=\"" << escape(g.value(in).name)
        << "\\n" << type_of(g.value(in)) << "\"];\n";
  for (ir::ValueId out : g.outputs())
    dot << "  \"out:" << escape(g.value(out).name) << "\" [shape=ellipse, fillcolor=\"#eeeeee\", label=\"" << escape(g.value(out).name)
        << "\\n" << type_of(g.value(out)) << "\"];\n";

  auto node_id = [](std::size_t i) { return "n" + std::to_string(i); };
  auto emit_node = [&](std::size_t i, const std::string& indent) {
    const ir::Node& n = g.nodes()[i];
    const char* fill = is_quantized(n) ? (n.op_type.rfind("QLinear", 0) == 0 ? "#f6b26b" : "#ffe599") : "#9fc5e8";
    std::ostringstream label;
    label << "<<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"1\">"
          << "<tr><td><b>" << escape(n.op_type) << "</b></td></tr>"
          << "<tr><td><font point-size=\"8\">" << escape(n.name) << "</font></td></tr>";
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      const ir::ValueId in = n.inputs[k];
      if (!in.valid() || !g.is_initializer(in)) continue;
      const ir::Value& v = g.value(in);
      // Low detail keeps weights and biases only; high detail every constant.
      const bool big = v.initializer->element_count() > 1;
      if (detail == Detail::low && !big) continue;
      label << "<tr><td align=\"left\"><font point-size=\"8\">" << escape(operand_name(n, k)) << " " << escape(constant_text(v))
            << "</font></td></tr>";
    }
    if (detail == Detail::high)
      for (const auto& [key, value] : n.attributes) {
        std::string text = std::visit(
            [](const auto& a) {
              std::ostringstream o;
              if constexpr (std::is_same_v<std::decay_t<decltype(a)>, std::vector<std::int64_t>> ||
                            std::is_same_v<std::decay_t<decltype(a)>, std::vector<float>>) {
                for (std::size_t i = 0; i < a.size(); ++i) o << (i ? "," : "") << a[i];
              } else {
                o << a;
              }
              return o.str();
            },
            value);
        label << "<tr><td align=\"left\"><font point-size=\"8\" color=\"#444444\">" << escape(key) << "=" << escape(text) << "</font></td></tr>";
      }
    label << "<tr><td><font point-size=\"8\">" << escape(type_of(g.value(n.outputs[0]))) << "</font></td></tr></table>>";
    dot << indent << node_id(i) << " [fillcolor=\"" << fill << "\", label=" << label.str() << "];\n";
  };

  const auto blocks = residual_blocks(g);
  std::set<std::size_t> placed;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    dot << "  subgraph cluster_residual_" << b << " {\n    label=\"residual block " << b + 1
        << "\"; style=\"rounded,dashed\"; color=\"#999999\"; fontsize=9;\n";
    for (auto i : blocks[b])
      if (placed.insert(i).second) emit_node(i, "    ");
    dot << "  }\n";
  }
  for (std::size_t i = 0; i < g.nodes().size(); ++i)
    if (!placed.count(i)) emit_node(i, "  ");

  // Edges carry activations only (constants live in the labels).
  std::vector<int> producer(g.values().size(), -1);
  for (std::size_t n = 0; n < g.nodes().size(); ++n)
    for (ir::ValueId o : g.nodes()[n].outputs) producer[o.index] = static_cast<int>(n);
  auto source = [&](ir::ValueId v) {
    return producer[v.index] >= 0 ? node_id(static_cast<std::size_t>(producer[v.index])) : "\"in:" + escape(g.value(v).name) + "\"";
  };
  for (std::size_t n = 0; n < g.nodes().size(); ++n)
    for (ir::ValueId in : g.nodes()[n].inputs) {
      if (!in.valid() || g.is_initializer(in)) continue;
      dot << "  " << source(in) << " -> " << node_id(n);
      if (detail == Detail::high) dot << " [label=\"" << escape(type_of(g.value(in))) << "\"]";
      dot << ";\n";
    }
  for (ir::ValueId out : g.outputs()) dot << "  " << source(out) << " -> \"out:" << escape(g.value(out).name) << "\";\n";
  dot << "}\n";
  return dot.str();
}

std::string render_graph(const std::string& dot, const std::string& format) {
  if (format == "dot") return dot;
  GVC_t* gvc = gvContext();
  Agraph_t* graph = agmemread(dot.c_str());
  if (!graph) {
    gvFreeContext(gvc);
    throw Error("Graphviz could not parse the generated graph");
  }
  std::string out;
  if (gvLayout(gvc, graph, "dot") == 0) {
    char* data = nullptr;
    unsigned int length = 0;
    if (gvRenderData(gvc, graph, format.c_str(), &data, &length) == 0 && data) out.assign(data, length);
    gvFreeRenderData(data);
    gvFreeLayout(gvc, graph);
  }
  agclose(graph);
  gvFreeContext(gvc);
  if (out.empty()) throw Error("Graphviz could not render format '" + format + "' (is the graphviz package with its plugins installed?)");
  return out;
}

}  // namespace tinyq::inspect
