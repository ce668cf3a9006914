#include "importers/keras_layers.h"

#include <cctype>
#include <map>

#include "core/error.h"
#include "ir/shape_inference.h"

namespace tinyq::importers {
namespace {

using json = nlohmann::json;

// Sizes beyond these are treated as a damaged or hostile config, before any
// allocation happens.
constexpr std::int64_t kMaxDim = 1 << 16;
constexpr std::int64_t kMaxWeightElements = std::int64_t(1) << 28;

Tensor int64_tensor(const std::vector<std::int64_t>& values) {
  return Tensor::from<std::int64_t>({static_cast<std::int64_t>(values.size())}, values);
}

bool is_spatial(const LayerCall& call, std::size_t i = 0) {
  return call.input_shape(i).size() == 4 && !call.input(i).flattened_chw;
}

void require_spatial(const LayerCall& call) {
  if (!is_spatial(call))
    call.fail("expects a 4-D (batch, height, width, channels) input, got IR shape " +
              shape_to_string(call.input_shape()));
}

void require_channels_last(const LayerCall& call) {
  std::string format = call.option_string("data_format", "channels_last");
  for (char& c : format) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (format != "channels_last")
    call.fail("option data_format='" + format + "' is not supported (only channels_last)");
}

std::vector<KerasTensor> one(ir::ValueId v) { return {KerasTensor{v, std::nullopt}}; }

// Conv2D and DepthwiseConv2D share everything but the weight layout.
std::vector<KerasTensor> convolution(LayerCall& call, bool depthwise) {
  require_spatial(call);
  require_channels_last(call);
  const Shape x = call.input_shape();  // N, C, H, W
  const auto kernel = call.option_ints("kernel_size", 2);
  const auto strides = call.option_ints("strides", 2, 1);
  const auto dilation = call.option_ints("dilation_rate", 2, 1);
  const std::string padding = call.option_padding();
  const std::int64_t in_channels = x[1];
  std::int64_t groups = 1, out_channels = 0, multiplier = 1;
  if (depthwise) {
    multiplier = call.option_int("depth_multiplier", 1);
    if (multiplier <= 0 || multiplier > kMaxDim) call.fail("option depth_multiplier is out of range");
    groups = in_channels;
    out_channels = in_channels * multiplier;
  } else {
    out_channels = call.option_int("filters");
    groups = call.option_int("groups", 1);
    if (out_channels <= 0 || out_channels > kMaxDim) call.fail("option filters is out of range");
    if (groups <= 0 || in_channels % groups || out_channels % groups)
      call.fail("option groups=" + std::to_string(groups) + " does not divide the channels");
  }
  if (kernel[0] * kernel[1] * in_channels * (out_channels / groups) > kMaxWeightElements)
    call.fail("kernel is implausibly large");

  // Keras: (kh, kw, in/groups, out) or depthwise (kh, kw, in, multiplier).
  // ONNX: (out, in/groups, kh, kw); depthwise output channel c*multiplier + m.
  const std::int64_t kh = kernel[0], kw = kernel[1], in_per_group = in_channels / groups;
  Tensor keras_kernel = depthwise ? call.weight("depthwise_kernel", {kh, kw, in_channels, multiplier})
                                  : call.weight("kernel", {kh, kw, in_per_group, out_channels});
  Tensor onnx_weight(DType::f32, {out_channels, in_per_group, kh, kw});
  auto src = keras_kernel.data<float>();
  auto dst = onnx_weight.data<float>();
  // Both layouts enumerate (h, w, i, o) with i = kernel input channel and
  // o = position among that group's outputs; only the strides differ.
  const std::int64_t ins = depthwise ? in_channels : in_per_group;
  const std::int64_t outs = depthwise ? multiplier : out_channels;
  for (std::int64_t h = 0; h < kh; ++h)
    for (std::int64_t w = 0; w < kw; ++w)
      for (std::int64_t i = 0; i < ins; ++i)
        for (std::int64_t o = 0; o < outs; ++o) {
          const std::int64_t onnx_out = depthwise ? i * multiplier + o : o;
          const std::int64_t onnx_in = depthwise ? 0 : i;
          dst[((onnx_out * in_per_group + onnx_in) * kh + h) * kw + w] = src[((h * kw + w) * ins + i) * outs + o];
        }

  std::vector<ir::ValueId> inputs{call.input().value, call.add_constant("weight", std::move(onnx_weight))};
  if (call.option_bool("use_bias", true))
    inputs.push_back(call.add_constant("bias", call.weight("bias", {out_channels})));
  const auto pad_h = tensorflow_padding(padding, x[2], kh, strides[0], dilation[0]);
  const auto pad_w = tensorflow_padding(padding, x[3], kw, strides[1], dilation[1]);
  if (pad_h[0] < 0) call.fail("option padding='" + padding + "' is not supported (same or valid)");
  const std::string activation = call.option_activation("activation");
  const bool has_activation = activation != "linear";
  ir::ValueId y = call.add_node("Conv", std::move(inputs),
                                {{"kernel_shape", std::vector<std::int64_t>{kh, kw}},
                                 {"strides", strides},
                                 {"dilations", dilation},
                                 {"pads", std::vector<std::int64_t>{pad_h[0], pad_w[0], pad_h[1], pad_w[1]}},
                                 {"group", groups}},
                                has_activation ? "conv" : "");
  return one(call.apply_activation(y, activation, true));
}

std::vector<KerasTensor> conv2d(LayerCall& call) { return convolution(call, false); }
std::vector<KerasTensor> depthwise_conv2d(LayerCall& call) { return convolution(call, true); }

std::vector<KerasTensor> dense(LayerCall& call) {
  const KerasTensor& x = call.input();
  const Shape xs = call.input_shape();
  if (xs.size() != 2 && xs.size() != 3) call.fail("expects a 2-D or 3-D input, got " + shape_to_string(xs));
  const std::int64_t in = xs.back(), units = call.option_int("units");
  if (units <= 0 || units > kMaxDim * 16 || in * units > kMaxWeightElements) call.fail("option units is out of range");
  Tensor kernel = call.weight("kernel", {in, units});  // Keras: (in, out)
  const std::string activation = call.option_activation("activation");
  const bool has_activation = activation != "linear";
  const bool use_bias = call.option_bool("use_bias", true);
  ir::ValueId y;
  if (xs.size() == 2) {
    // Gemm with B = W^T of shape (out, in), as ONNX and PyTorch store it.
    // Rows follow the IR's feature order, which differs from Keras' after a
    // Flatten of an NHWC tensor (see keras_layers.h).
    Tensor weight(DType::f32, {units, in});
    auto src = kernel.data<float>();
    auto dst = weight.data<float>();
    for (std::int64_t r = 0; r < in; ++r) {
      std::int64_t keras_row = r;
      if (x.flattened_chw) {
        const auto [c_count, h_count, w_count] = *x.flattened_chw;
        const std::int64_t c = r / (h_count * w_count), h = (r / w_count) % h_count, w = r % w_count;
        keras_row = (h * w_count + w) * c_count + c;
      }
      for (std::int64_t o = 0; o < units; ++o) dst[o * in + r] = src[keras_row * units + o];
    }
    std::vector<ir::ValueId> inputs{x.value, call.add_constant("weight", std::move(weight))};
    if (use_bias) inputs.push_back(call.add_constant("bias", call.weight("bias", {units})));
    y = call.add_node("Gemm", std::move(inputs), {{"transB", std::int64_t{1}}}, has_activation ? "gemm" : "");
  } else {
    // Dense on (batch, steps, features) applies to the last axis: MatMul + Add.
    y = call.add_node("MatMul", {x.value, call.add_constant("weight", std::move(kernel))}, {},
                      use_bias || has_activation ? "matmul" : "");
    if (use_bias)
      y = call.add_node("Add", {y, call.add_constant("bias", call.weight("bias", {units}))}, {},
                        has_activation ? "bias_add" : "");
  }
  return one(call.apply_activation(y, activation, true));
}

std::vector<KerasTensor> batch_normalization(LayerCall& call) {
  const Shape xs = call.input_shape();
  const KerasTensor x = call.input().flattened_chw ? call.materialized(call.input()) : call.input();
  const auto rank = static_cast<std::int64_t>(xs.size());
  if (rank != 2 && rank != 4) call.fail("expects a 2-D or 4-D input, got " + shape_to_string(xs));
  // Keras' axis must be the channel (last) axis: ONNX normalizes over axis 1,
  // which is where NCHW (and 2-D) tensors keep their channels.
  // Keras writes axis as an int or a list (default -1).
  const std::int64_t axis = call.option_int("axis", -1);
  if (axis != -1 && axis != rank - 1)
    call.fail("option axis=" + call.config().at("axis").dump() + " is not supported (only the channel axis)");
  const std::int64_t c = xs[1];
  const Shape cs{c};
  Tensor gamma = call.option_bool("scale", true) ? call.weight("gamma", cs) : Tensor(DType::f32, cs);
  if (!call.option_bool("scale", true))
    for (float& v : gamma.data<float>()) v = 1.f;
  Tensor beta = call.option_bool("center", true) ? call.weight("beta", cs) : Tensor(DType::f32, cs);
  ir::ValueId y = call.add_node("BatchNormalization",
                                {x.value, call.add_constant("gamma", std::move(gamma)),
                                 call.add_constant("beta", std::move(beta)),
                                 call.add_constant("moving_mean", call.weight("moving_mean", cs)),
                                 call.add_constant("moving_variance", call.weight("moving_variance", cs))},
                                {{"epsilon", static_cast<float>(call.option_number("epsilon", 1e-3))}}, "");
  return one(y);
}

// Element-wise layers keep the Flatten mark: permuting features commutes with them.
std::vector<KerasTensor> keep_mark(const LayerCall& call, ir::ValueId y) {
  return {KerasTensor{y, call.input().flattened_chw}};
}

std::vector<KerasTensor> activation(LayerCall& call) {
  if (!call.has_option("activation")) call.fail("option 'activation' is missing");
  return keep_mark(call, call.apply_activation(call.input().value, call.option_activation("activation"), true));
}

std::vector<KerasTensor> relu(LayerCall& call) {
  const double slope = call.option_number("negative_slope", 0.0);
  const double threshold = call.option_number("threshold", 0.0);
  if (slope != 0.0) call.fail("option negative_slope=" + std::to_string(slope) + " is not supported");
  if (threshold != 0.0) call.fail("option threshold=" + std::to_string(threshold) + " is not supported");
  const auto& max_value = call.config().contains("max_value") ? call.config()["max_value"] : json();
  if (max_value.is_null()) return keep_mark(call, call.add_node("Relu", {call.input().value}, {}, ""));
  if (!max_value.is_number()) call.fail("option max_value must be a number");
  auto lo = call.add_constant("min", Tensor::from<float>({}, std::vector<float>{0.f}));
  auto hi = call.add_constant("max", Tensor::from<float>({}, std::vector<float>{max_value.get<float>()}));
  return keep_mark(call, call.add_node("Clip", {call.input().value, lo, hi}, {}, ""));
}

std::vector<KerasTensor> softmax(LayerCall& call) {
  if (call.option_int("axis", -1) != -1) call.fail("option axis other than -1 is not supported");
  return keep_mark(call, call.apply_activation(call.input().value, "softmax", true));
}

std::vector<KerasTensor> add(LayerCall& call) {
  if (call.inputs().size() < 2) call.fail("needs at least two inputs");
  std::vector<KerasTensor> ins = call.inputs();
  // Mixed Flatten marks cannot be combined element-wise: restore Keras order.
  bool same_mark = true;
  for (const auto& t : ins) same_mark = same_mark && t.flattened_chw == ins[0].flattened_chw;
  if (!same_mark)
    for (auto& t : ins) t = call.materialized(t);
  ir::ValueId sum = ins[0].value;
  for (std::size_t i = 1; i < ins.size(); ++i)
    sum = call.add_node("Add", {sum, ins[i].value}, {}, i + 1 == ins.size() ? "" : "add" + std::to_string(i));
  return {KerasTensor{sum, ins[0].flattened_chw}};
}

std::vector<KerasTensor> pooling(LayerCall& call, const char* op) {
  require_spatial(call);
  require_channels_last(call);
  const Shape x = call.input_shape();
  const auto pool = call.option_ints("pool_size", 2, 2);
  // Keras: strides default to the pool size.
  const auto strides = call.has_option("strides") ? call.option_ints("strides", 2) : pool;
  const std::string padding = call.option_padding();
  const auto ph = tensorflow_padding(padding, x[2], pool[0], strides[0], 1);
  const auto pw = tensorflow_padding(padding, x[3], pool[1], strides[1], 1);
  if (ph[0] < 0) call.fail("option padding='" + padding + "' is not supported (same or valid)");
  std::map<std::string, ir::Attribute> attrs{{"kernel_shape", pool},
                                             {"strides", strides},
                                             {"pads", std::vector<std::int64_t>{ph[0], pw[0], ph[1], pw[1]}}};
  // TensorFlow averages over the valid (unpadded) part of a 'same' window.
  if (std::string(op) == "AveragePool") attrs["count_include_pad"] = std::int64_t{0};
  return one(call.add_node(op, {call.input().value}, std::move(attrs), ""));
}

std::vector<KerasTensor> average_pooling2d(LayerCall& call) { return pooling(call, "AveragePool"); }
std::vector<KerasTensor> max_pooling2d(LayerCall& call) { return pooling(call, "MaxPool"); }

std::vector<KerasTensor> global_average_pooling2d(LayerCall& call) {
  require_spatial(call);
  require_channels_last(call);
  const bool keepdims = call.option_bool("keepdims", false);
  ir::ValueId y = call.add_node("GlobalAveragePool", {call.input().value}, {}, keepdims ? "" : "pool");
  if (!keepdims) y = call.add_node("Flatten", {y}, {{"axis", std::int64_t{1}}}, "");
  return one(y);
}

std::vector<KerasTensor> zero_padding2d(LayerCall& call) {
  require_spatial(call);
  require_channels_last(call);
  const json p = call.has_option("padding") ? call.config().at("padding") : json(1);  // Keras' default
  std::int64_t top, bottom, left, right;
  auto number = [&](const json& j) {
    if (!j.is_number_integer() || j.get<std::int64_t>() < 0 || j.get<std::int64_t>() > kMaxDim)
      call.fail("option padding=" + p.dump() + " is invalid");
    return j.get<std::int64_t>();
  };
  if (p.is_number()) {
    top = bottom = left = right = number(p);
  } else if (p.is_array() && p.size() == 2 && p[0].is_array() && p[1].is_array() && p[0].size() == 2 && p[1].size() == 2) {
    top = number(p[0][0]), bottom = number(p[0][1]), left = number(p[1][0]), right = number(p[1][1]);
  } else if (p.is_array() && p.size() == 2) {
    top = bottom = number(p[0]);
    left = right = number(p[1]);
  } else {
    call.fail("option padding=" + p.dump() + " is invalid");
  }
  auto pads = call.add_constant("pads", int64_tensor({0, 0, top, left, 0, 0, bottom, right}));
  return one(call.add_node("Pad", {call.input().value, pads}, {{"mode", std::string("constant")}}, ""));
}

std::vector<KerasTensor> flatten(LayerCall& call) {
  const KerasTensor& x = call.input();
  const Shape s = call.input_shape();
  if (s.size() == 2) return {x};  // already flat: Keras' Flatten is the identity
  ir::ValueId y = call.add_node("Flatten", {x.value}, {{"axis", std::int64_t{1}}}, "");
  if (s.size() == 4 && s[2] * s[3] > 1 && !x.flattened_chw)
    return {KerasTensor{y, std::array<std::int64_t, 3>{s[1], s[2], s[3]}}};
  return one(y);
}

std::vector<KerasTensor> reshape(LayerCall& call) {
  KerasTensor x = call.input().flattened_chw ? call.materialized(call.input()) : call.input();
  std::vector<std::int64_t> target{0};
  for (const auto& d : call.config().at("target_shape")) {
    if (!d.is_number_integer() || d.get<std::int64_t>() < -1 || d.get<std::int64_t>() == 0 ||
        d.get<std::int64_t>() > kMaxWeightElements)
      call.fail("option target_shape=" + call.config()["target_shape"].dump() + " is invalid");
    target.push_back(d.get<std::int64_t>());
  }
  // Keras reshapes NHWC memory order; put rank-4 data into that order first
  // and back to NCHW afterwards.
  if (call.input_shape().size() == 4)
    x.value = call.add_node("Transpose", {x.value}, {{"perm", std::vector<std::int64_t>{0, 2, 3, 1}}}, "to_nhwc");
  const bool to_spatial = target.size() == 4;
  ir::ValueId y = call.add_node("Reshape", {x.value, call.add_constant("shape", int64_tensor(target))}, {},
                                to_spatial ? "reshape" : "");
  if (to_spatial) y = call.add_node("Transpose", {y}, {{"perm", std::vector<std::int64_t>{0, 3, 1, 2}}}, "");
  return one(y);
}

std::vector<KerasTensor> dropout(LayerCall& call) { return {call.input()}; }  // identity at inference

}  // namespace

std::array<std::int64_t, 2> tensorflow_padding(const std::string& padding, std::int64_t in, std::int64_t kernel,
                                               std::int64_t stride, std::int64_t dilation) {
  if (padding == "valid") return {0, 0};
  if (padding != "same") return {-1, -1};
  const std::int64_t effective = (kernel - 1) * dilation + 1;
  const std::int64_t out = (in + stride - 1) / stride;
  const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + effective - in, 0);
  return {total / 2, total - total / 2};
}

LayerCall::LayerCall(ir::Graph& graph, const json& layer, int call_index, std::vector<KerasTensor> inputs,
                     const WeightLookup& weights)
    : graph_(graph),
      layer_(layer),
      config_(layer.at("config")),
      name_(layer.at("name").get<std::string>()),
      class_name_(layer.at("class_name").get<std::string>()),
      output_name_(call_index == 0 ? name_ : name_ + "_call" + std::to_string(call_index)),
      inputs_(std::move(inputs)),
      weights_(weights) {}

void LayerCall::fail(const std::string& what) const {
  throw Error("layer '" + name_ + "' (" + class_name_ + "): " + what);
}

bool LayerCall::has_option(const std::string& key) const { return config_.contains(key) && !config_[key].is_null(); }

std::int64_t LayerCall::option_int(const std::string& key) const {
  if (!has_option(key)) fail("option '" + key + "' is missing");
  const json& v = config_[key];
  // A one-element list reads as its element (Keras writes axis either way).
  const json& scalar = v.is_array() && v.size() == 1 ? v[0] : v;
  if (!scalar.is_number_integer()) fail("option '" + key + "'=" + v.dump() + " is not an integer");
  return scalar.get<std::int64_t>();
}

std::int64_t LayerCall::option_int(const std::string& key, std::int64_t fallback) const {
  return has_option(key) ? option_int(key) : fallback;
}

double LayerCall::option_number(const std::string& key) const {
  if (!has_option(key) || !config_[key].is_number()) fail("option '" + key + "' is missing or not a number");
  return config_[key].get<double>();
}

double LayerCall::option_number(const std::string& key, double fallback) const {
  return has_option(key) ? option_number(key) : fallback;
}

std::string LayerCall::option_string(const std::string& key) const {
  if (!has_option(key) || !config_[key].is_string()) fail("option '" + key + "' is missing or not a string");
  return config_[key].get<std::string>();
}

std::string LayerCall::option_string(const std::string& key, const std::string& fallback) const {
  return has_option(key) ? option_string(key) : fallback;
}

bool LayerCall::option_bool(const std::string& key, bool fallback) const {
  if (!has_option(key)) return fallback;
  const json& v = config_[key];
  if (v.is_boolean()) return v.get<bool>();
  // Python truthiness, as Keras tests the value: some Keras 2.x versions
  // write BatchNormalization's center/scale as 0/1.
  if (v.is_number_integer()) return v.get<std::int64_t>() != 0;
  fail("option '" + key + "'=" + v.dump() + " is not a boolean");
}

std::vector<std::int64_t> LayerCall::option_ints(const std::string& key, std::size_t n) const {
  if (!has_option(key)) fail("option '" + key + "' is missing");
  const json& v = config_[key];
  std::vector<std::int64_t> out;
  if (v.is_number_integer()) out.assign(n, v.get<std::int64_t>());
  else if (v.is_array() && v.size() == n)
    for (const auto& e : v) {
      if (!e.is_number_integer()) fail("option '" + key + "'=" + v.dump() + " must hold integers");
      out.push_back(e.get<std::int64_t>());
    }
  else fail("option '" + key + "'=" + v.dump() + " must be an integer or a list of " + std::to_string(n));
  for (auto e : out)
    if (e <= 0 || e > kMaxDim) fail("option '" + key + "'=" + v.dump() + " is out of range");
  return out;
}

std::vector<std::int64_t> LayerCall::option_ints(const std::string& key, std::size_t n, std::int64_t fallback) const {
  return has_option(key) ? option_ints(key, n) : std::vector<std::int64_t>(n, fallback);
}

std::string LayerCall::option_padding() const {
  std::string padding = option_string("padding", "valid");
  for (char& c : padding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return padding;
}

std::string LayerCall::option_activation(const std::string& key) const {
  if (!has_option(key)) return "linear";  // Keras: activations.get(None) is linear
  const json& v = config_[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("config") && v["config"].is_string()) return v["config"].get<std::string>();
  fail("option '" + key + "'=" + v.dump() + " is not an activation name");
}

const KerasTensor& LayerCall::input(std::size_t i) const {
  if (i >= inputs_.size()) fail("expects an input #" + std::to_string(i));
  return inputs_[i];
}

Shape LayerCall::input_shape(std::size_t i) const { return graph_.value(input(i).value).shape; }

KerasTensor LayerCall::materialized(const KerasTensor& t) { return restore_keras_order(graph_, t, output_name_); }

Tensor LayerCall::weight(const std::string& name, const Shape& expected) const {
  return weights_(name_, name, expected);
}

ir::ValueId LayerCall::add_constant(const std::string& suffix, Tensor data) {
  return graph_.add_initializer(graph_.unique_name(output_name_ + "/" + suffix), std::move(data));
}

ir::ValueId LayerCall::add_node(const std::string& op_type, std::vector<ir::ValueId> inputs,
                                std::map<std::string, ir::Attribute> attributes, const std::string& suffix) {
  try {
    return add_typed_node(graph_, op_type, suffix.empty() ? output_name_ : output_name_ + "/" + suffix,
                          std::move(inputs), std::move(attributes), name_);
  } catch (const Error& e) {
    fail(e.what());
  }
}

ir::ValueId LayerCall::apply_activation(ir::ValueId x, const std::string& activation, bool is_final) {
  const std::string suffix = is_final ? "" : activation;
  if (activation == "linear") {
    // No node needed; a standalone Activation('linear') still gets an output
    // named after its layer.
    return x == inputs_.at(0).value ? add_node("Identity", {x}, {}, suffix) : x;
  }
  if (activation == "relu") return add_node("Relu", {x}, {}, suffix);
  if (activation == "sigmoid") return add_node("Sigmoid", {x}, {}, suffix);
  if (activation == "tanh") return add_node("Tanh", {x}, {}, suffix);
  if (activation == "relu6") {
    auto lo = add_constant("min", Tensor::from<float>({}, std::vector<float>{0.f}));
    auto hi = add_constant("max", Tensor::from<float>({}, std::vector<float>{6.f}));
    return add_node("Clip", {x, lo, hi}, {}, suffix);
  }
  if (activation == "softmax") {
    // Keras normalizes the last (channel) axis, which is ONNX axis 1 in NCHW.
    const std::int64_t axis = graph_.value(x).shape.size() == 4 ? 1 : -1;
    return add_node("Softmax", {x}, {{"axis", axis}}, suffix);
  }
  fail("option activation='" + activation + "' is not supported (linear, relu, relu6, softmax, sigmoid, tanh)");
}

ir::ValueId add_typed_node(ir::Graph& graph, const std::string& op_type, const std::string& name,
                           std::vector<ir::ValueId> inputs, std::map<std::string, ir::Attribute> attributes,
                           const std::string& origin, const std::string& domain) {
  ir::Node node;
  node.op_type = op_type;
  node.domain = domain;
  node.name = name;
  node.origin = origin;
  node.inputs = std::move(inputs);
  node.attributes = std::move(attributes);
  std::vector<ir::TensorType> types;
  for (ir::ValueId id : node.inputs) types.push_back({graph.value(id).dtype, graph.value(id).shape});
  const auto out = ir::infer_node_types(graph, node, types);
  node.outputs.push_back(graph.add_value(graph.unique_name(name), out.at(0).dtype, out.at(0).shape));
  const ir::ValueId y = node.outputs[0];
  graph.add_node(std::move(node));
  return y;
}

KerasTensor restore_keras_order(ir::Graph& graph, const KerasTensor& t, const std::string& prefix) {
  if (!t.flattened_chw) return t;
  const auto [c, h, w] = *t.flattened_chw;
  auto shape = graph.add_initializer(graph.unique_name(prefix + "/unflatten_shape"), int64_tensor({0, c, h, w}));
  ir::ValueId v = add_typed_node(graph, "Reshape", prefix + "/unflatten", {t.value, shape}, {}, prefix);
  v = add_typed_node(graph, "Transpose", prefix + "/to_nhwc", {v}, {{"perm", std::vector<std::int64_t>{0, 2, 3, 1}}},
                     prefix);
  v = add_typed_node(graph, "Flatten", prefix + "/keras_order", {v}, {{"axis", std::int64_t{1}}}, prefix);
  return KerasTensor{v, std::nullopt};
}

LayerTranslator find_layer_translator(const LayerCall& call) {
  static const std::map<std::string, LayerTranslator> table = {
      {"Conv2D", conv2d},
      {"DepthwiseConv2D", depthwise_conv2d},
      {"Dense", dense},
      {"BatchNormalization", batch_normalization},
      {"Activation", activation},
      {"ReLU", relu},
      {"Softmax", softmax},
      {"Add", add},
      {"AveragePooling2D", average_pooling2d},
      {"MaxPooling2D", max_pooling2d},
      {"GlobalAveragePooling2D", global_average_pooling2d},
      {"ZeroPadding2D", zero_padding2d},
      {"Flatten", flatten},
      {"Reshape", reshape},
      {"Dropout", dropout},
  };
  auto it = table.find(call.class_name());
  if (it == table.end())
    call.fail("layer class '" + call.class_name() +
              "' is not supported (supported: InputLayer, Conv2D, DepthwiseConv2D, BatchNormalization, Activation, "
              "ReLU, Softmax, Add, AveragePooling2D, MaxPooling2D, GlobalAveragePooling2D, ZeroPadding2D, Flatten, "
              "Reshape, Dense, Dropout)");
  return it->second;
}

KerasTensor add_keras_input(ir::Graph& graph, const std::string& layer_name, const json& batch_input_shape,
                            const std::string& value_name) {
  auto fail = [&](const std::string& what) {
    throw Error("layer '" + layer_name + "' (InputLayer): " + what);
  };
  if (!batch_input_shape.is_array() || batch_input_shape.size() < 2 || batch_input_shape.size() > 4)
    fail("batch_input_shape=" + batch_input_shape.dump() + " must be [batch, ...] of rank 2 to 4");
  Shape keras{kBatch};
  std::int64_t total = 1;
  for (std::size_t i = 1; i < batch_input_shape.size(); ++i) {
    const json& d = batch_input_shape[i];
    if (!d.is_number_integer() || d.get<std::int64_t>() <= 0 || d.get<std::int64_t>() > kMaxDim)
      fail("batch_input_shape=" + batch_input_shape.dump() + " needs static positive sizes");
    keras.push_back(d.get<std::int64_t>());
    total *= keras.back();
  }
  if (total > kMaxWeightElements) fail("batch_input_shape=" + batch_input_shape.dump() + " is implausibly large");
  Shape ir_shape = keras;
  if (keras.size() == 4) ir_shape = {kBatch, keras[3], keras[1], keras[2]};  // NHWC -> NCHW
  return KerasTensor{graph.add_input(value_name, DType::f32, ir_shape), std::nullopt};
}

}  // namespace tinyq::importers
