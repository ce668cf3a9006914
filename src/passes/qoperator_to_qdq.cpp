#include "passes/qoperator_to_qdq.h"

#include "core/error.h"
#include "ir/verifier.h"

namespace tinyq::passes {
namespace {

using ir::Node;
using ir::ValueId;

class Rewriter {
 public:
  explicit Rewriter(ir::Graph& graph) : graph_(graph) {}

  int run() {
    std::vector<Node> rebuilt;
    int rewritten = 0;
    for (const Node& node : graph_.nodes()) {
      const std::size_t before = out_.size();
      if (node.op_type == "QLinearConv" && node.domain.empty()) conv(node);
      else if (node.domain == "com.microsoft" && node.op_type == "QLinearAdd") elementwise(node, "Add");
      else if (node.domain == "com.microsoft" && node.op_type == "QLinearGlobalAveragePool") unary(node, "GlobalAveragePool", {});
      else if (node.domain == "com.microsoft" && node.op_type == "QLinearAveragePool") {
        auto attributes = node.attributes;
        attributes.erase("channels_last");  // always 0 here; AveragePool has no such attribute
        unary(node, "AveragePool", std::move(attributes));
      } else if (node.domain == "com.microsoft" && node.op_type == "QLinearReduceMean")
        unary(node, "ReduceMean", {{"axes", node.attributes.at("axes")}, {"keepdims", node.attributes.at("keepdims")}});
      else if (node.domain == "com.microsoft" && node.op_type == "QLinearSoftmax")
        unary(node, "Softmax", {{"axis", node.attributes.count("axis") ? node.attributes.at("axis") : ir::Attribute{std::int64_t{-1}}}});
      else out_.push_back(node);
      if (out_.size() != before + 1 || out_.back().name != node.name) ++rewritten;
    }
    graph_.nodes() = std::move(out_);
    ir::verify(graph_);
    return rewritten;
  }

 private:
  ValueId float_value(const std::string& base, const Shape& shape) {
    return graph_.add_value(graph_.unique_name(base), DType::f32, shape);
  }

  void emit(const std::string& op, std::vector<ValueId> inputs, ValueId output, const std::string& name,
            std::map<std::string, ir::Attribute> attributes, const std::string& origin) {
    Node n;
    n.op_type = op;
    n.name = name;
    n.origin = origin;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    n.attributes = std::move(attributes);
    out_.push_back(std::move(n));
  }

  ValueId dequantize(ValueId x, ValueId scale, ValueId zero_point, const Node& at, const std::string& what,
                     std::map<std::string, ir::Attribute> attributes = {}) {
    const ValueId y = float_value(graph_.value(x).name + "/dequantized", graph_.value(x).shape);
    emit("DequantizeLinear", {x, scale, zero_point}, y, at.name + "/dequantize_" + what, std::move(attributes), at.origin);
    return y;
  }

  void quantize(ValueId x, ValueId scale, ValueId zero_point, ValueId output, const Node& at) {
    emit("QuantizeLinear", {x, scale, zero_point}, output, at.name, {}, at.origin);
  }

  void conv(const Node& n) {
    // QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp[, bias]
    const ValueId x = dequantize(n.inputs[0], n.inputs[1], n.inputs[2], n, "x");
    const Tensor& w_scale = graph_.initializer(n.inputs[4]);
    const bool per_channel = element_count(w_scale.shape()) > 1;
    std::map<std::string, ir::Attribute> axis0;
    if (per_channel) axis0["axis"] = std::int64_t{0};
    const ValueId w = dequantize(n.inputs[3], n.inputs[4], n.inputs[5], n, "w", axis0);
    std::vector<ValueId> inputs{x, w};
    if (n.inputs.size() > 8 && n.inputs[8].valid()) {
      // QDQ's bias: int32 with scale x_scale * w_scale (per channel) and zero point 0.
      const float x_scale = graph_.initializer(n.inputs[1]).data<float>()[0];
      Tensor scale(DType::f32, w_scale.shape());
      for (std::size_t c = 0; c < scale.data<float>().size(); ++c) scale.data<float>()[c] = x_scale * w_scale.data<float>()[c];
      Tensor zero(DType::s32, w_scale.shape());
      std::fill(zero.bytes().begin(), zero.bytes().end(), std::byte{0});
      const ValueId bs = graph_.add_initializer(graph_.unique_name(n.name + "/bias_scale"), std::move(scale));
      const ValueId bz = graph_.add_initializer(graph_.unique_name(n.name + "/bias_zero_point"), std::move(zero));
      inputs.push_back(dequantize(n.inputs[8], bs, bz, n, "bias", axis0));
    }
    const ValueId y = float_value(n.name + "/float", graph_.value(n.outputs[0]).shape);
    emit("Conv", std::move(inputs), y, n.name + "/conv", n.attributes, n.origin);
    quantize(y, n.inputs[6], n.inputs[7], n.outputs[0], n);
  }

  void elementwise(const Node& n, const char* op) {
    // QLinearAdd: a, a_scale, a_zp, b, b_scale, b_zp, c_scale, c_zp
    const ValueId a = dequantize(n.inputs[0], n.inputs[1], n.inputs[2], n, "a");
    const ValueId b = dequantize(n.inputs[3], n.inputs[4], n.inputs[5], n, "b");
    const ValueId y = float_value(n.name + "/float", graph_.value(n.outputs[0]).shape);
    emit(op, {a, b}, y, n.name + "/" + std::string(op), {}, n.origin);
    quantize(y, n.inputs[6], n.inputs[7], n.outputs[0], n);
  }

  void unary(const Node& n, const char* op, std::map<std::string, ir::Attribute> attributes) {
    // x, x_scale, x_zp, y_scale, y_zp
    const ValueId x = dequantize(n.inputs[0], n.inputs[1], n.inputs[2], n, "x");
    const ValueId y = float_value(n.name + "/float", graph_.value(n.outputs[0]).shape);
    emit(op, {x}, y, n.name + "/" + std::string(op), std::move(attributes), n.origin);
    quantize(y, n.inputs[3], n.inputs[4], n.outputs[0], n);
  }

  ir::Graph& graph_;
  std::vector<Node> out_;
};

}  // namespace

int qoperator_to_qdq(ir::Graph& graph) { return Rewriter(graph).run(); }

}  // namespace tinyq::passes
