#include "ir/shape_inference.h"

#include <functional>
#include <map>
#include <numeric>

#include "core/error.h"

namespace tinyq::ir {
namespace {

using Types = std::vector<TensorType>;
using InferFn = std::function<Types(const Graph&, const Node&, const Types&)>;

[[noreturn]] void fail(const Node& node, const std::string& what) {
  throw Error("node '" + node.name + "' (" + node.op_type + "): " + what);
}

void require_inputs(const Node& node, const Types& in, std::size_t min, std::size_t max) {
  if (in.size() < min || in.size() > max)
    fail(node, "expects " + std::to_string(min) + (min == max ? "" : ".." + std::to_string(max)) + " inputs, has " +
                   std::to_string(in.size()));
}

void require_rank(const Node& node, const TensorType& t, std::size_t rank, const char* which) {
  if (t.shape.size() != rank)
    fail(node, std::string(which) + " must have rank " + std::to_string(rank) + ", has shape " +
                   shape_to_string(t.shape));
}

// Sliding-window output size, ONNX formula with explicit pads (floor mode).
std::int64_t window_output(const Node& node, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                           std::int64_t dilation, std::int64_t pad_total, bool ceil_mode) {
  const std::int64_t effective = (kernel - 1) * dilation + 1;
  const std::int64_t span = in + pad_total - effective;
  if (stride <= 0 || dilation <= 0 || kernel <= 0) fail(node, "kernel, stride and dilation must be positive");
  if (span < 0) fail(node, "window of " + std::to_string(effective) + " is larger than the padded input " +
                               std::to_string(in + pad_total));
  return (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
}

Types window_op(const Node& node, const TensorType& x, std::int64_t out_channels, const std::vector<std::int64_t>& kernel) {
  const std::size_t spatial = x.shape.size() - 2;
  if (kernel.size() != spatial) fail(node, "kernel_shape has " + std::to_string(kernel.size()) + " dims, input has " +
                                               std::to_string(spatial) + " spatial dims");
  const auto strides = node.attr_ints("strides", std::vector<std::int64_t>(spatial, 1));
  const auto dilations = node.attr_ints("dilations", std::vector<std::int64_t>(spatial, 1));
  const auto pads = spatial_pads(node, spatial);
  if (strides.size() != spatial || dilations.size() != spatial) fail(node, "strides/dilations rank mismatch");
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  Shape out{x.shape[0], out_channels};
  for (std::size_t i = 0; i < spatial; ++i) {
    if (x.shape[i + 2] < 0) fail(node, "spatial dimensions must be static, input is " + shape_to_string(x.shape));
    out.push_back(window_output(node, x.shape[i + 2], kernel[i], strides[i], dilations[i], pads[i] + pads[i + spatial],
                                ceil_mode));
  }
  return {{x.dtype, out}};
}

Types infer_conv(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 3);
  const TensorType& x = in[0];
  const TensorType& w = in[1];
  if (x.shape.size() < 3) fail(node, "input must be N,C,spatial..., has shape " + shape_to_string(x.shape));
  require_rank(node, w, x.shape.size(), "weight");
  const std::int64_t group = node.attr_int("group", 1);
  if (group <= 0 || x.shape[1] % group != 0 || w.shape[0] % group != 0)
    fail(node, "group " + std::to_string(group) + " does not divide channels");
  if (w.shape[1] * group != x.shape[1])
    fail(node, "weight " + shape_to_string(w.shape) + " expects " + std::to_string(w.shape[1] * group) +
                   " input channels, input has " + shape_to_string(x.shape));
  if (in.size() == 3 && in[2].shape != Shape{w.shape[0]})
    fail(node, "bias shape " + shape_to_string(in[2].shape) + " must be [" + std::to_string(w.shape[0]) + "]");
  std::vector<std::int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  if (node.has_attr("kernel_shape") && node.attr_ints("kernel_shape") != kernel)
    fail(node, "kernel_shape attribute disagrees with the weight shape " + shape_to_string(w.shape));
  return window_op(node, x, w.shape[0], kernel);
}

// com.microsoft FusedConv: Conv, and an optional fourth input (the "sum",
// added before the activation) of the output's shape. A sum comes with a
// bias (tinyq's passes only fuse biased convolutions), so it is in[3].
Types infer_fused_conv(const Graph& graph, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 4);
  if (in.size() < 4) return infer_conv(graph, node, in);
  const Types out = infer_conv(graph, node, Types(in.begin(), in.begin() + 3));
  if (in[3].shape != out[0].shape || in[3].dtype != out[0].dtype)
    fail(node, "sum input " + shape_to_string(in[3].shape) + " must have the output's shape " + shape_to_string(out[0].shape));
  return out;
}

Types infer_pool(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 1, 1);
  if (in[0].shape.size() < 3) fail(node, "input must be N,C,spatial..., has shape " + shape_to_string(in[0].shape));
  if (!node.has_attr("kernel_shape")) fail(node, "missing attribute kernel_shape");
  return window_op(node, in[0], in[0].shape[1], node.attr_ints("kernel_shape"));
}

Types infer_global_pool(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 1, 1);
  if (in[0].shape.size() < 3) fail(node, "input must be N,C,spatial..., has shape " + shape_to_string(in[0].shape));
  Shape out(in[0].shape.size(), 1);
  out[0] = in[0].shape[0];
  out[1] = in[0].shape[1];
  return {{in[0].dtype, out}};
}

Types infer_same(const Graph&, const Node& node, const Types& in) {
  if (in.empty()) fail(node, "has no input");
  return {in[0]};
}

Types infer_batchnorm(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 5, 5);
  if (in[0].shape.size() < 2) fail(node, "input must have a channel axis");
  for (int i = 1; i < 5; ++i)
    if (in[i].shape != Shape{in[0].shape[1]})
      fail(node, "parameter " + std::to_string(i) + " has shape " + shape_to_string(in[i].shape) + ", expected [" +
                     std::to_string(in[0].shape[1]) + "]");
  return {in[0]};
}

Shape broadcast(const Node& node, const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else fail(node, "shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
  }
  return out;
}

Types infer_binary(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 2);
  if (in[0].dtype != in[1].dtype) fail(node, "inputs have different element types");
  return {{in[0].dtype, broadcast(node, in[0].shape, in[1].shape)}};
}

Types infer_gemm(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 3);
  require_rank(node, in[0], 2, "A");
  require_rank(node, in[1], 2, "B");
  const bool ta = node.attr_int("transA", 0), tb = node.attr_int("transB", 0);
  const std::int64_t m = ta ? in[0].shape[1] : in[0].shape[0];
  const std::int64_t ka = ta ? in[0].shape[0] : in[0].shape[1];
  const std::int64_t kb = tb ? in[1].shape[1] : in[1].shape[0];
  const std::int64_t n = tb ? in[1].shape[0] : in[1].shape[1];
  if (ka != kb) fail(node, "inner dimensions differ: A " + shape_to_string(in[0].shape) + ", B " +
                               shape_to_string(in[1].shape));
  if (in.size() == 3) broadcast(node, Shape{m, n}, in[2].shape);
  return {{in[0].dtype, {m, n}}};
}

Types infer_matmul(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 2);
  require_rank(node, in[1], 2, "B (tinyq's MatMul takes a 2-D right operand)");
  if (in[0].shape.size() < 2) fail(node, "A must have rank >= 2");
  if (in[0].shape.back() != in[1].shape[0])
    fail(node, "inner dimensions differ: A " + shape_to_string(in[0].shape) + ", B " + shape_to_string(in[1].shape));
  Shape out = in[0].shape;
  out.back() = in[1].shape[1];
  return {{in[0].dtype, out}};
}

Types infer_flatten(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 1, 1);
  const auto& s = in[0].shape;
  std::int64_t axis = node.attr_int("axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(s.size());
  if (axis < 0 || axis > static_cast<std::int64_t>(s.size())) fail(node, "axis out of range");
  const Shape outer(s.begin(), s.begin() + axis), inner(s.begin() + axis, s.end());
  auto dim = [](const Shape& part) {
    for (auto d : part)
      if (d == kBatch) return part.size() == 1 ? kBatch : std::int64_t(-2);
    return element_count(part);
  };
  const std::int64_t d0 = dim(outer), d1 = dim(inner);
  if (d0 == -2 || d1 == -2 || d1 == kBatch) fail(node, "cannot flatten the symbolic batch together with other dims");
  return {{in[0].dtype, {d0, d1}}};
}

Types infer_reshape(const Graph& graph, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 2);
  const auto target = constant_input(graph, node, 1, "shape").data<std::int64_t>();
  const Shape& s = in[0].shape;
  const bool batch_symbolic = !s.empty() && s[0] == kBatch;
  Shape out(target.begin(), target.end());
  bool batch_placed = !batch_symbolic;
  int infer_at = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0) {
      if (i >= s.size()) fail(node, "shape entry 0 at axis " + std::to_string(i) + " has no input dim to copy");
      out[i] = s[i];
      if (s[i] == kBatch) { batch_placed = true; continue; }
    }
    if (out[i] == -1) {
      if (infer_at >= 0) fail(node, "shape has more than one -1");
      infer_at = static_cast<int>(i);
      continue;
    }
    if (out[i] < 0) fail(node, "shape entry " + std::to_string(out[i]) + " is invalid");
    if (__builtin_mul_overflow(known, out[i], &known)) fail(node, "shape entries multiply beyond 64 bits");
  }
  if (!batch_placed) fail(node, "the symbolic batch dimension must be kept with a 0 in the shape");
  const std::int64_t total = element_count(s);
  if (infer_at >= 0) {
    if (known == 0 || total % known) fail(node, "cannot infer -1 in shape for input " + shape_to_string(s));
    out[infer_at] = total / known;
  } else if (known != total) {
    fail(node, "reshape " + shape_to_string(s) + " to " + shape_to_string(out) + " changes the element count");
  }
  return {{in[0].dtype, out}};
}

Types infer_transpose(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 1, 1);
  const auto& s = in[0].shape;
  std::vector<std::int64_t> perm = node.attr_ints("perm");
  if (perm.empty())
    for (std::size_t i = s.size(); i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
  if (perm.size() != s.size()) fail(node, "perm has " + std::to_string(perm.size()) + " entries for rank " +
                                              std::to_string(s.size()));
  Shape out;
  std::vector<bool> seen(s.size(), false);
  for (auto p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(s.size()) || seen[p]) fail(node, "perm is not a permutation");
    seen[p] = true;
    out.push_back(s[p]);
  }
  return {{in[0].dtype, out}};
}

Types infer_pad(const Graph& graph, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 3);
  if (node.attr_string("mode", "constant") != "constant") fail(node, "only mode 'constant' is supported");
  const auto pads = constant_input(graph, node, 1, "pads").data<std::int64_t>();
  const auto& s = in[0].shape;
  if (pads.size() != 2 * s.size()) fail(node, "pads has " + std::to_string(pads.size()) + " entries for rank " +
                                                  std::to_string(s.size()));
  Shape out = s;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (pads[i] < 0 || pads[i + s.size()] < 0) fail(node, "negative pads are not supported");
    if (s[i] == kBatch) {
      if (pads[i] || pads[i + s.size()]) fail(node, "cannot pad the batch dimension");
      continue;
    }
    out[i] = s[i] + pads[i] + pads[i + s.size()];
  }
  return {{in[0].dtype, out}};
}

Types infer_softmax(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 1, 1);
  const auto rank = static_cast<std::int64_t>(in[0].shape.size());
  const std::int64_t axis = node.attr_int("axis", -1);
  if (axis < -rank || axis >= rank) fail(node, "axis " + std::to_string(axis) + " out of range");
  return {in[0]};
}

// Quantized operators: the element type of the result is the type of its
// zero point (QuantizeLinear defaults to u8, as ONNX says).
DType zero_point_type(const Types& in, std::size_t index, DType fallback) {
  return index < in.size() ? in[index].dtype : fallback;
}

void require_8bit(const Node& node, DType t, const char* what) {
  if (t != DType::u8 && t != DType::s8) fail(node, std::string(what) + " must be u8 or s8, is " + std::string(dtype_name(t)));
}

Types infer_quantize(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 3);
  if (in[0].dtype != DType::f32) fail(node, "input must be f32");
  const DType t = zero_point_type(in, 2, DType::u8);
  if (t != DType::u8 && t != DType::s8 && t != DType::s32) fail(node, "zero point must be u8, s8 or s32");
  return {{t, in[0].shape}};
}

Types infer_dequantize(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 2, 3);
  return {{DType::f32, in[0].shape}};
}

Types infer_qlinear_conv(const Graph& graph, const Node& node, const Types& in) {
  require_inputs(node, in, 8, 9);
  require_8bit(node, in[0].dtype, "x");
  require_8bit(node, in[3].dtype, "w");
  Types conv_in{{DType::f32, in[0].shape}, {DType::f32, in[3].shape}};
  if (in.size() == 9) {
    if (in[8].dtype != DType::s32) fail(node, "bias must be s32");
    conv_in.push_back({DType::f32, in[8].shape});
  }
  auto out = infer_conv(graph, node, conv_in);
  out[0].dtype = in[7].dtype;
  return out;
}

Types infer_qlinear_matmul(const Graph& graph, const Node& node, const Types& in) {
  require_inputs(node, in, 8, 8);
  auto out = infer_matmul(graph, node, {{DType::f32, in[0].shape}, {DType::f32, in[3].shape}});
  out[0].dtype = in[7].dtype;
  return out;
}

Types infer_qlinear_add(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 7, 8);
  require_8bit(node, in[0].dtype, "A");
  if (in[3].dtype != in[0].dtype) fail(node, "A and B must have the same element type");
  return {{in[0].dtype, broadcast(node, in[0].shape, in[3].shape)}};
}

// ReduceMean (opset 13, axes as an attribute) over the spatial axes of an NCHW tensor.
Types infer_reduce_mean(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 1, 1);
  if (in[0].shape.size() != 4 || node.attr_ints("axes", {}) != std::vector<std::int64_t>{2, 3})
    fail(node, "only the mean over axes [2, 3] of a 4-D tensor is supported");
  Shape out{in[0].shape[0], in[0].shape[1]};
  if (node.attr_int("keepdims", 1) != 0) out.insert(out.end(), {1, 1});
  return {{in[0].dtype, out}};
}

// The com.microsoft QLinear form of a float op on one tensor (X, X_scale,
// X_zero_point, Y_scale, Y_zero_point): the float op's shape, Y's type.
// QLinearGlobalAveragePool, QLinearAveragePool, QLinearReduceMean (axes [2, 3]).
template <Types (*FloatInference)(const Graph&, const Node&, const Types&)>
Types infer_qlinear_unary(const Graph& graph, const Node& node, const Types& in) {
  require_inputs(node, in, 5, 5);
  if (node.attr_int("channels_last", 0) != 0) fail(node, "channels_last=1 is not supported");
  require_8bit(node, in[0].dtype, "X");
  auto out = FloatInference(graph, node, {in[0]});
  out[0].dtype = in[4].dtype;
  return out;
}

// com.microsoft QLinearSoftmax: X, X_scale, X_zero_point, Y_scale, Y_zero_point.
Types infer_qlinear_softmax(const Graph&, const Node& node, const Types& in) {
  require_inputs(node, in, 5, 5);
  if (in[0].dtype != DType::u8 && in[0].dtype != DType::s8) fail(node, "expects u8 or s8 input");
  if (in[4].dtype != in[0].dtype) fail(node, "output zero point type differs from the input's");
  return {{in[0].dtype, in[0].shape}};
}

// The registry: op type (with domain prefix for contrib ops) -> inference.
const std::map<std::string, InferFn>& registry() {
  static const std::map<std::string, InferFn> table = {
      {"Conv", infer_conv},
      {"com.microsoft:FusedConv", infer_fused_conv},
      {"AveragePool", infer_pool},
      {"MaxPool", infer_pool},
      {"GlobalAveragePool", infer_global_pool},
      {"ReduceMean", infer_reduce_mean},
      {"BatchNormalization", infer_batchnorm},
      {"Relu", infer_same},
      {"Clip", infer_same},
      {"Sigmoid", infer_same},
      {"Tanh", infer_same},
      {"Identity", infer_same},
      {"Softmax", infer_softmax},
      {"Add", infer_binary},
      {"Gemm", infer_gemm},
      {"MatMul", infer_matmul},
      {"Flatten", infer_flatten},
      {"Reshape", infer_reshape},
      {"Transpose", infer_transpose},
      {"Pad", infer_pad},
      {"QuantizeLinear", infer_quantize},
      {"DequantizeLinear", infer_dequantize},
      {"QLinearConv", infer_qlinear_conv},
      {"QLinearMatMul", infer_qlinear_matmul},
      {"com.microsoft:QLinearAdd", infer_qlinear_add},
      {"com.microsoft:QLinearGlobalAveragePool", infer_qlinear_unary<infer_global_pool>},
      {"com.microsoft:QLinearSoftmax", infer_qlinear_softmax},
      {"com.microsoft:QLinearAveragePool", infer_qlinear_unary<infer_pool>},
      {"com.microsoft:QLinearReduceMean", infer_qlinear_unary<infer_reduce_mean>},
  };
  return table;
}

std::string registry_key(const Node& node) {
  return node.domain.empty() || node.domain == "ai.onnx" ? node.op_type : node.domain + ":" + node.op_type;
}

}  // namespace

std::vector<std::int64_t> spatial_pads(const Node& node, std::size_t spatial_rank) {
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID")
    fail(node, "auto_pad '" + auto_pad + "' is not supported; use explicit pads");
  auto pads = node.attr_ints("pads", std::vector<std::int64_t>(2 * spatial_rank, 0));
  if (pads.size() != 2 * spatial_rank) fail(node, "pads must have " + std::to_string(2 * spatial_rank) + " entries");
  for (auto p : pads)
    if (p < 0) fail(node, "negative pads are not supported");
  return pads;
}

bool is_known_op(const Node& node) { return registry().count(registry_key(node)) != 0; }

std::vector<TensorType> infer_node_types(const Graph& graph, const Node& node, const std::vector<TensorType>& inputs) {
  auto it = registry().find(registry_key(node));
  if (it == registry().end())
    fail(node, "operator " + registry_key(node) + " is not supported by tinyq");
  return it->second(graph, node, inputs);
}

void infer_shapes(Graph& graph) {
  for (const Node& node : graph.nodes()) {
    std::vector<TensorType> in;
    for (ValueId id : node.inputs) {
      if (!id.valid()) continue;
      in.push_back({graph.value(id).dtype, graph.value(id).shape});
    }
    const auto out = infer_node_types(graph, node, in);
    if (out.size() != node.outputs.size())
      fail(node, "has " + std::to_string(node.outputs.size()) + " outputs, expected " + std::to_string(out.size()));
    for (std::size_t i = 0; i < out.size(); ++i) {
      graph.value(node.outputs[i]).dtype = out[i].dtype;
      graph.value(node.outputs[i]).shape = out[i].shape;
    }
  }
}

}  // namespace tinyq::ir
