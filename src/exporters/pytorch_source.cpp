#include "exporters/pytorch_source.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "ir/shape_inference.h"

namespace tinyq::exporters {
namespace {

std::string identifier(const std::string& name) {
  static const std::set<std::string> reserved = {"False", "None", "True", "and", "as", "assert", "break", "class",
                                                 "continue", "def", "del", "elif", "else", "except", "finally", "for",
                                                 "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
                                                 "not", "or", "pass", "raise", "return", "try", "while", "with",
                                                 "yield", "self", "torch", "nn", "F", "math"};
  std::string id;
  for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "v_" + id;
  if (reserved.count(id)) id += "_";
  return id;
}

std::string ints(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string float_literal(float f) {
  if (std::isinf(f)) return f > 0 ? "float('inf')" : "float('-inf')";
  std::ostringstream out;
  out.precision(9);  // round-trips a float exactly
  out << f;
  std::string s = out.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

[[noreturn]] void unsupported(const ir::Node& node, const std::string& what) {
  throw Error("node '" + node.name + "' (" + node.op_type + "): " + what + " has no PyTorch form in tinyq's exporter");
}

// Pads [t, l, b, r] of a 2-D window op, split into a symmetric part PyTorch's
// op takes and an explicit F.pad for the rest.
struct WindowPads {
  std::vector<std::int64_t> symmetric{0, 0};
  std::vector<std::int64_t> explicit_pad;  // F.pad order (left, right, top, bottom); empty when none
};

WindowPads split_pads(const ir::Node& node) {
  const auto p = ir::spatial_pads(node, 2);
  WindowPads w;
  if (p[0] == p[2] && p[1] == p[3]) w.symmetric = {p[0], p[1]};
  else w.explicit_pad = {p[1], p[3], p[0], p[2]};
  return w;
}

float scalar_input(const ir::Graph& graph, const ir::Node& node, std::size_t index, float fallback) {
  const auto v = ir::constant_scalar(graph, node, index, fallback);
  if (!v) unsupported(node, "a non-constant bound");
  return *v;
}

// The conv/linear weight layout PyTorch wants, from a Gemm or MatMul.
Tensor linear_weight(const ir::Graph& graph, const ir::Node& node) {
  const Tensor& b = graph.initializer(node.inputs[1]);
  const bool trans_b = node.op_type == "Gemm" && node.attr_int("transB", 0) != 0;
  if (trans_b) return b;
  const auto k = b.shape()[0], n = b.shape()[1];
  Tensor t(DType::f32, {n, k});
  for (std::int64_t i = 0; i < k; ++i)
    for (std::int64_t j = 0; j < n; ++j) t.data<float>()[j * k + i] = b.data<float>()[i * n + j];
  return t;
}

void check_linear(const ir::Graph& graph, const ir::Node& node) {
  if (!graph.is_initializer(node.inputs[1])) unsupported(node, "a non-constant weight");
  if (node.op_type == "Gemm" &&
      (node.attr_int("transA", 0) || node.attr_float("alpha", 1.f) != 1.f || node.attr_float("beta", 1.f) != 1.f))
    unsupported(node, "transA, alpha or beta other than the defaults");
  if (node.inputs.size() > 2 && node.inputs[2].valid() &&
      graph.initializer(node.inputs[2]).element_count() != static_cast<std::size_t>(graph.value(node.outputs[0]).shape.back()))
    unsupported(node, "a bias that is not one value per output");
}

// ONNX pads [begin_0.., end_0..] as torch's F.pad / constant_pad_nd order: last dimension first.
std::vector<std::int64_t> torch_pad_order(const ir::Graph& graph, const ir::Node& node) {
  const auto p = graph.initializer(node.inputs[1]).data<std::int64_t>();
  const std::size_t rank = p.size() / 2;
  std::vector<std::int64_t> torch_pads;
  for (std::size_t d = rank; d-- > 0;) {
    torch_pads.push_back(p[d]);
    torch_pads.push_back(p[d + rank]);
  }
  return torch_pads;
}

// A Reshape target as a Python list; 0 copies the input's dimension via `dim(i)`.
std::string reshape_target(const ir::Graph& graph, const ir::Node& node, const std::function<std::string(std::size_t)>& dim) {
  const auto target = graph.initializer(node.inputs[1]).data<std::int64_t>();
  std::string shape = "[";
  for (std::size_t i = 0; i < target.size(); ++i) shape += (i ? ", " : "") + (target[i] == 0 ? dim(i) : std::to_string(target[i]));
  return shape + "]";
}

std::string conv_activation(const ir::Node& node, const std::string& x, bool torchscript) {
  if (node.op_type != "FusedConv") return x;
  const std::string kind = node.attr_string("activation", "");
  if (kind == "Relu") return "torch.relu(" + x + ")";
  if (kind == "Clip") {
    const auto p = node.attr_floats("activation_params");
    return "torch.clamp(" + x + ", " + float_literal(p.at(0)) + ", " + float_literal(p.at(1)) + ")";
  }
  (void)torchscript;
  unsupported(node, "activation '" + kind + "'");
}

// Names for values as Python variables, unique and readable.
class VariableNames {
 public:
  std::string operator()(const ir::Graph& graph, ir::ValueId id) {
    auto it = names_.find(id.index);
    if (it != names_.end()) return it->second;
    std::string base = identifier(graph.value(id).name), name = base;
    for (int i = 1; used_.count(name); ++i) name = base + "_" + std::to_string(i);
    used_.insert(name);
    return names_[id.index] = name;
  }

 private:
  std::map<std::uint32_t, std::string> names_;
  std::set<std::string> used_;
};

}  // namespace

std::string python_class_name(const std::string& stem) {
  std::string out;
  bool upper = true;
  for (char c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "Model" + out;
  return out;
}

EagerModule to_eager_module(const ir::Graph& graph, const std::string& class_name) {
  EagerModule m;
  m.class_name = class_name;
  std::ostringstream init, forward;
  VariableNames var;
  std::set<std::string> modules;
  auto module_name = [&](const ir::Node& node) {
    std::string base = identifier(node.name), name = base;
    for (int i = 1; modules.count(name); ++i) name = base + "_" + std::to_string(i);
    modules.insert(name);
    return name;
  };
  auto add_state = [&](const std::string& key, const Tensor& t, bool buffer) { m.state_dict.push_back({key, t, buffer}); };
  // Constant operands (e.g. an Add of a constant) are registered as buffers.
  auto operand = [&](ir::ValueId id) -> std::string {
    if (!graph.is_initializer(id)) return var(graph, id);
    const std::string name = "const_" + identifier(graph.value(id).name);
    if (!modules.count(name)) {
      modules.insert(name);
      init << "        self.register_buffer('" << name << "', torch.zeros(" << ints(graph.value(id).shape) << "))\n";
      add_state(name, graph.initializer(id), true);
    }
    return "self." + name;
  };

  std::vector<std::string> args;
  for (ir::ValueId id : graph.inputs()) args.push_back(var(graph, id));

  for (const ir::Node& node : graph.nodes()) {
    const std::string& op = node.op_type;
    const std::string y = var(graph, node.outputs[0]);
    const std::string x = node.inputs.empty() ? "" : operand(node.inputs[0]);
    auto line = [&](const std::string& expr) { forward << "        " << y << " = " << expr << "\n"; };

    if (op == "Conv" || op == "FusedConv") {
      const Tensor& w = graph.initializer(node.inputs[1]);
      const auto& ws = w.shape();
      const std::int64_t group = node.attr_int("group", 1);
      const bool bias = node.inputs.size() > 2 && node.inputs[2].valid();
      const auto pads = split_pads(node);
      const std::string mod = module_name(node);
      init << "        self." << mod << " = nn.Conv2d(" << ws[1] * group << ", " << ws[0] << ", kernel_size=" << ints({ws[2], ws[3]})
           << ", stride=" << ints(node.attr_ints("strides", {1, 1})) << ", padding=" << ints(pads.symmetric)
           << ", dilation=" << ints(node.attr_ints("dilations", {1, 1})) << ", groups=" << group
           << ", bias=" << (bias ? "True" : "False") << ")\n";
      add_state(mod + ".weight", w, false);
      if (bias) add_state(mod + ".bias", graph.initializer(node.inputs[2]), false);
      std::string in = x;
      if (!pads.explicit_pad.empty()) {
        forward << "        " << y << " = F.pad(" << x << ", " << ints(pads.explicit_pad) << ")  # TensorFlow 'same' padding\n";
        in = y;
      }
      line(conv_activation(node, "self." + mod + "(" + in + ")", false));
    } else if (op == "BatchNormalization") {
      const std::string mod = module_name(node);
      const auto rank = graph.value(node.inputs[0]).shape.size();
      const auto c = graph.value(node.inputs[0]).shape[1];
      init << "        self." << mod << " = nn.BatchNorm" << (rank == 4 ? "2d" : "1d") << "(" << c
           << ", eps=" << float_literal(node.attr_float("epsilon", 1e-5f)) << ")\n";
      add_state(mod + ".weight", graph.initializer(node.inputs[1]), false);
      add_state(mod + ".bias", graph.initializer(node.inputs[2]), false);
      add_state(mod + ".running_mean", graph.initializer(node.inputs[3]), true);
      add_state(mod + ".running_var", graph.initializer(node.inputs[4]), true);
      add_state(mod + ".num_batches_tracked", Tensor(DType::s64, {}), true);
      line("self." + mod + "(" + x + ")");
    } else if (op == "Gemm" || op == "MatMul") {
      check_linear(graph, node);
      const Tensor w = linear_weight(graph, node);
      const bool bias = node.inputs.size() > 2 && node.inputs[2].valid();
      const std::string mod = module_name(node);
      init << "        self." << mod << " = nn.Linear(" << w.shape()[1] << ", " << w.shape()[0] << ", bias=" << (bias ? "True" : "False") << ")\n";
      add_state(mod + ".weight", w, false);
      if (bias) add_state(mod + ".bias", graph.initializer(node.inputs[2]).reshaped({w.shape()[0]}), false);
      line("self." + mod + "(" + x + ")");
    } else if (op == "Relu" || op == "Sigmoid" || op == "Tanh") {
      const std::string mod = module_name(node);
      init << "        self." << mod << " = nn." << (op == "Relu" ? "ReLU" : op) << "()\n";
      line("self." + mod + "(" + x + ")");
    } else if (op == "Clip") {
      const std::string mod = module_name(node);
      const float lo = scalar_input(graph, node, 1, -std::numeric_limits<float>::infinity());
      const float hi = scalar_input(graph, node, 2, std::numeric_limits<float>::infinity());
      if (lo == 0.f && hi == 6.f) init << "        self." << mod << " = nn.ReLU6()\n";
      else init << "        self." << mod << " = nn.Hardtanh(" << float_literal(lo) << ", " << float_literal(hi) << ")\n";
      line("self." + mod + "(" + x + ")");
    } else if (op == "Softmax") {
      const std::string mod = module_name(node);
      init << "        self." << mod << " = nn.Softmax(dim=" << node.attr_int("axis", -1) << ")\n";
      line("self." + mod + "(" + x + ")");
    } else if (op == "Add") {
      // FloatFunctional keeps the add quantizable by torch.ao.quantization.
      const std::string mod = module_name(node);
      init << "        self." << mod << " = nn.quantized.FloatFunctional()\n";
      line("self." + mod + ".add(" + x + ", " + operand(node.inputs[1]) + ")");
    } else if (op == "AveragePool" || op == "MaxPool") {
      const std::string mod = module_name(node);
      const auto pads = split_pads(node);
      const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
      const auto k = node.attr_ints("kernel_shape");
      const auto s = node.attr_ints("strides", {1, 1});
      if (op == "AveragePool" && !pads.explicit_pad.empty() && !include_pad) {
        // TensorFlow 'same' averaging: PyTorch has no asymmetric padding that
        // stays out of the count, so divide the zero-padded window sums by the
        // number of real pixels in each window (both as averages over k*k).
        init << "        self." << mod << " = nn.AvgPool2d(" << ints(k) << ", stride=" << ints(s) << ", count_include_pad=True)\n";
        line("self." + mod + "(F.pad(" + x + ", " + ints(pads.explicit_pad) + ")) / self." + mod + "(F.pad(torch.ones_like(" + x +
             "[:1, :1]), " + ints(pads.explicit_pad) + "))");
        continue;
      }
      std::string in = x;
      if (!pads.explicit_pad.empty()) {
        forward << "        " << y << " = F.pad(" << x << ", " << ints(pads.explicit_pad)
                << (op == "MaxPool" ? ", value=float('-inf')" : "") << ")\n";
        in = y;
      }
      if (op == "AveragePool")
        init << "        self." << mod << " = nn.AvgPool2d(" << ints(k) << ", stride=" << ints(s) << ", padding=" << ints(pads.symmetric)
             << ", count_include_pad=" << (include_pad ? "True" : "False") << ")\n";
      else
        init << "        self." << mod << " = nn.MaxPool2d(" << ints(k) << ", stride=" << ints(s) << ", padding=" << ints(pads.symmetric) << ")\n";
      line("self." + mod + "(" + in + ")");
    } else if (op == "GlobalAveragePool") {
      const std::string mod = module_name(node);
      init << "        self." << mod << " = nn.AdaptiveAvgPool2d(1)\n";
      line("self." + mod + "(" + x + ")");
    } else if (op == "Flatten") {
      if (node.attr_int("axis", 1) != 1) unsupported(node, "axis other than 1");
      line("torch.flatten(" + x + ", 1)");
    } else if (op == "Reshape") {
      line(x + ".reshape(" + reshape_target(graph, node, [&](std::size_t i) { return x + ".shape[" + std::to_string(i) + "]"; }) + ")");
    } else if (op == "Transpose") {
      line(x + ".permute(" + ints(node.attr_ints("perm")) + ")");
    } else if (op == "Pad") {
      line("F.pad(" + x + ", " + ints(torch_pad_order(graph, node)) + ", value=" + float_literal(scalar_input(graph, node, 2, 0.f)) + ")");
    } else if (op == "Identity") {
      line(x);
    } else {
      unsupported(node, "the operator");
    }
  }

  std::ostringstream src;
  src << "# Generated by tinyq from the model '" << graph.name << "'. PyTorch eager module with the same\n"
      << "# arithmetic as the ONNX export: NCHW input, raw values as the model was trained.\n"
      << "# Load the weights with load_model(path_to_state_dict).\n"
      << "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n\n"
      << "class " << class_name << "(nn.Module):\n"
      << "    def __init__(self):\n        super().__init__()\n" << init.str() << "\n"
      << "    def forward(self";
  for (const auto& a : args) src << ", " << a;
  src << "):\n" << forward.str() << "        return ";
  for (std::size_t i = 0; i < graph.outputs().size(); ++i) src << (i ? ", " : "") << var(graph, graph.outputs()[i]);
  src << "\n\n\ndef load_model(state_dict_path):\n"
      << "    model = " << class_name << "()\n"
      << "    model.load_state_dict(torch.load(state_dict_path))\n"
      << "    return model.eval()\n";
  m.source = src.str();
  return m;
}

TorchScriptModule to_torchscript_module(const ir::Graph& graph) {
  TorchScriptModule m;
  VariableNames var;
  std::set<std::string> attrs;
  // Every constant a node reads becomes a module attribute under a unique name.
  auto attribute = [&](ir::ValueId id, bool buffer) {
    std::string base = "p_" + identifier(graph.value(id).name), name = base;
    for (int i = 1; attrs.count(name); ++i) name = base + "_" + std::to_string(i);
    attrs.insert(name);
    m.attributes.push_back({name, graph.initializer(id), buffer});
    return "self." + name;
  };
  auto operand = [&](ir::ValueId id) { return graph.is_initializer(id) ? attribute(id, true) : var(graph, id); };

  std::ostringstream body;
  std::vector<std::string> args;
  for (ir::ValueId id : graph.inputs()) args.push_back(var(graph, id) + ": Tensor");

  for (const ir::Node& node : graph.nodes()) {
    const std::string& op = node.op_type;
    const std::string y = var(graph, node.outputs[0]);
    const std::string x = node.inputs.empty() ? "" : operand(node.inputs[0]);
    auto line = [&](const std::string& expr) { body << "    " << y << " = " << expr << "\n"; };

    if (op == "Conv" || op == "FusedConv") {
      const auto pads = split_pads(node);
      const std::string w = attribute(node.inputs[1], false);
      const std::string b = node.inputs.size() > 2 && node.inputs[2].valid() ? attribute(node.inputs[2], false) : "None";
      std::string in = x;
      if (!pads.explicit_pad.empty()) {
        body << "    " << y << " = torch.constant_pad_nd(" << x << ", " << ints(pads.explicit_pad) << ", 0.0)\n";
        in = y;
      }
      line(conv_activation(node,
                           "torch.conv2d(" + in + ", " + w + ", " + b + ", " + ints(node.attr_ints("strides", {1, 1})) + ", " +
                               ints(pads.symmetric) + ", " + ints(node.attr_ints("dilations", {1, 1})) + ", " +
                               std::to_string(node.attr_int("group", 1)) + ")",
                           true));
    } else if (op == "BatchNormalization") {
      line("torch.batch_norm(" + x + ", " + attribute(node.inputs[1], false) + ", " + attribute(node.inputs[2], false) + ", " +
           attribute(node.inputs[3], true) + ", " + attribute(node.inputs[4], true) + ", False, 0.0, " +
           float_literal(node.attr_float("epsilon", 1e-5f)) + ", False)");
    } else if (op == "Gemm" || op == "MatMul") {
      check_linear(graph, node);
      std::string name = "p_" + identifier(graph.value(node.inputs[1]).name);
      for (int i = 1; attrs.count(name); ++i) name = "p_" + identifier(graph.value(node.inputs[1]).name) + "_" + std::to_string(i);
      attrs.insert(name);
      m.attributes.push_back({name, linear_weight(graph, node), false});
      const std::string b = node.inputs.size() > 2 && node.inputs[2].valid() ? attribute(node.inputs[2], false) : "None";
      line("torch.linear(" + x + ", self." + name + ", " + b + ")");
    } else if (op == "Relu") {
      line("torch.relu(" + x + ")");
    } else if (op == "Sigmoid") {
      line("torch.sigmoid(" + x + ")");
    } else if (op == "Tanh") {
      line("torch.tanh(" + x + ")");
    } else if (op == "Clip") {
      line("torch.clamp(" + x + ", " + float_literal(scalar_input(graph, node, 1, -std::numeric_limits<float>::infinity())) + ", " +
           float_literal(scalar_input(graph, node, 2, std::numeric_limits<float>::infinity())) + ")");
    } else if (op == "Softmax") {
      line("torch.softmax(" + x + ", " + std::to_string(node.attr_int("axis", -1)) + ")");
    } else if (op == "Add") {
      line("torch.add(" + x + ", " + operand(node.inputs[1]) + ")");
    } else if (op == "AveragePool" || op == "MaxPool") {
      const auto pads = split_pads(node);
      const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
      const std::string k = ints(node.attr_ints("kernel_shape")), s = ints(node.attr_ints("strides", {1, 1}));
      if (op == "AveragePool" && !pads.explicit_pad.empty() && !include_pad) {
        // As in the eager module: window sums over real pixels only.
        auto pooled = [&](const std::string& t) {
          return "torch.avg_pool2d(torch.constant_pad_nd(" + t + ", " + ints(pads.explicit_pad) + ", 0.0), " + k + ", " + s +
                 ", [0, 0], False, True, None)";
        };
        line(pooled(x) + " / " + pooled("torch.ones_like(" + x + "[:1, :1])"));
        continue;
      }
      std::string in = x;
      if (!pads.explicit_pad.empty()) {
        body << "    " << y << " = torch.constant_pad_nd(" << x << ", " << ints(pads.explicit_pad) << ", "
             << (op == "MaxPool" ? "float('-inf')" : "0.0") << ")\n";
        in = y;
      }
      if (op == "AveragePool")
        line("torch.avg_pool2d(" + in + ", " + k + ", " + s + ", " + ints(pads.symmetric) + ", False, " +
             (include_pad ? "True" : "False") + ", None)");
      else
        line("torch.max_pool2d(" + in + ", " + k + ", " + s + ", " + ints(pads.symmetric) + ", [1, 1], False)");
    } else if (op == "GlobalAveragePool") {
      line("torch.mean(" + x + ", [2, 3], True)");
    } else if (op == "Flatten") {
      if (node.attr_int("axis", 1) != 1) unsupported(node, "axis other than 1");
      line("torch.flatten(" + x + ", 1)");
    } else if (op == "Reshape") {
      line("torch.reshape(" + x + ", " + reshape_target(graph, node, [&](std::size_t i) { return x + ".size(" + std::to_string(i) + ")"; }) + ")");
    } else if (op == "Transpose") {
      line(x + ".permute(" + ints(node.attr_ints("perm")) + ")");
    } else if (op == "Pad") {
      line("torch.constant_pad_nd(" + x + ", " + ints(torch_pad_order(graph, node)) + ", " + float_literal(scalar_input(graph, node, 2, 0.f)) + ")");
    } else if (op == "Identity") {
      line(x);
    } else {
      unsupported(node, "the operator");
    }
  }
  std::ostringstream src;
  src << "def forward(self";
  for (const auto& a : args) src << ", " << a;
  src << "):\n" << body.str() << "    return ";
  for (std::size_t i = 0; i < graph.outputs().size(); ++i) src << (i ? ", " : "") << var(graph, graph.outputs()[i]);
  src << "\n";
  m.forward_source = src.str();
  return m;
}

}  // namespace tinyq::exporters
