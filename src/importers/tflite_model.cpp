#include "importers/tflite_model.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "core/error.h"
#include "importers/keras_layers.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "tflite_schema_generated.h"

namespace tinyq::importers {
namespace {

namespace fb = tflite_subset;

// TFLite's BuiltinOperator codes that tinyq translates (schema.fbs).
enum BuiltinOp : int {
  kAdd = 0, kAveragePool2d = 1, kConv2d = 3, kDepthwiseConv2d = 4, kDequantize = 6, kFullyConnected = 9,
  kLogistic = 14, kMaxPool2d = 17, kRelu = 19, kRelu6 = 21, kReshape = 22, kSoftmax = 25, kTanh = 28, kPad = 34,
  kMean = 40, kQuantize = 114,
};

std::string op_name(int code) {
  static const std::map<int, std::string> names = {
      {kAdd, "ADD"}, {kAveragePool2d, "AVERAGE_POOL_2D"}, {kConv2d, "CONV_2D"}, {kDepthwiseConv2d, "DEPTHWISE_CONV_2D"},
      {kDequantize, "DEQUANTIZE"}, {kFullyConnected, "FULLY_CONNECTED"}, {kLogistic, "LOGISTIC"},
      {kMaxPool2d, "MAX_POOL_2D"}, {kRelu, "RELU"}, {kRelu6, "RELU6"}, {kReshape, "RESHAPE"}, {kSoftmax, "SOFTMAX"},
      {kTanh, "TANH"}, {kPad, "PAD"}, {kMean, "MEAN"}, {kQuantize, "QUANTIZE"}};
  auto it = names.find(code);
  return it == names.end() ? "builtin operator " + std::to_string(code) : it->second;
}

constexpr std::uint64_t kMaxFileBytes = std::uint64_t(1) << 31;  // FlatBuffers' own 2 GB limit

class TfliteReader {
 public:
  explicit TfliteReader(const std::filesystem::path& path) : file_(path.string()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(file_ + ": cannot open");
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::uint64_t>(in.tellg());
    if (size > kMaxFileBytes) throw Error(file_ + ": larger than the 2 GB a TFLite flatbuffer can be");
    bytes_.resize(size);
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes_.data()), static_cast<std::streamsize>(size));
    if (size < 8 || !fb::ModelBufferHasIdentifier(bytes_.data()))
      throw Error(file_ + ": not a TFLite model (no 'TFL3' file identifier)");
    // Every offset in the buffer is checked before any field is read.
    flatbuffers::Verifier verifier(bytes_.data(), bytes_.size(), /*max_depth=*/64, /*max_tables=*/1'000'000);
    if (!fb::VerifyModelBuffer(verifier))
      throw Error(file_ + ": damaged or truncated TFLite flatbuffer (rejected by the FlatBuffers verifier)");
    model_ = fb::GetModel(bytes_.data());
  }

  ir::Graph read() {
    try {
      translate();
    } catch (const Error& e) {
      throw Error(file_ + ": " + e.what());
    }
    ir::verify(graph_);
    return std::move(graph_);
  }

 private:
  // ---- tensors ----
  const fb::Tensor& tensor(std::int32_t index) const {
    const auto* tensors = subgraph_->tensors();
    if (!tensors || index < 0 || static_cast<std::uint32_t>(index) >= tensors->size())
      throw Error("tensor index " + std::to_string(index) + " is out of range");
    const fb::Tensor* t = tensors->Get(static_cast<std::uint32_t>(index));
    if (!t) throw Error("tensor " + std::to_string(index) + " is missing");
    return *t;
  }

  std::string tensor_name(std::int32_t index) const {
    const fb::Tensor& t = tensor(index);
    return t.name() ? t.name()->str() : "tensor_" + std::to_string(index);
  }

  Shape tflite_shape(std::int32_t index) const {
    const fb::Tensor& t = tensor(index);
    Shape shape;
    if (t.shape() && t.shape()->size() > 8) throw Error("tensor '" + tensor_name(index) + "' has rank " + std::to_string(t.shape()->size()));
    if (t.shape())
      for (auto d : *t.shape()) {
        if (d <= 0 || d > (1 << 24)) throw Error("tensor '" + tensor_name(index) + "' has dimension " + std::to_string(d));
        shape.push_back(d);
      }
    return shape;
  }

  DType dtype_of(std::int32_t index) const {
    switch (tensor(index).type()) {
      case fb::TensorType_FLOAT32: return DType::f32;
      case fb::TensorType_INT8: return DType::s8;
      case fb::TensorType_UINT8: return DType::u8;
      case fb::TensorType_INT32: return DType::s32;
      case fb::TensorType_INT64: return DType::s64;
      default:
        throw Error("tensor '" + tensor_name(index) + "' has type " +
                    std::string(fb::EnumNameTensorType(tensor(index).type())) + ", which tinyq does not read");
    }
  }

  // The constant data of a tensor, as TFLite stores it (NHWC, OHWI), checked
  // against its shape; nullopt for activations.
  std::optional<Tensor> constant(std::int32_t index) const {
    const fb::Tensor& t = tensor(index);
    const auto* buffers = model_->buffers();
    if (t.buffer() == 0 || !buffers) return std::nullopt;
    if (t.buffer() >= buffers->size()) throw Error("tensor '" + tensor_name(index) + "' names buffer " + std::to_string(t.buffer()) + ", beyond the model's buffers");
    const fb::Buffer* b = buffers->Get(t.buffer());
    const std::uint8_t* data = nullptr;
    std::uint64_t size = 0;
    if (b && b->data() && b->data()->size() > 0) {
      data = b->data()->data();
      size = b->data()->size();
    } else if (b && b->offset() > 1) {  // large models keep buffers after the flatbuffer
      if (b->offset() > bytes_.size() || b->size() > bytes_.size() - b->offset())
        throw Error("tensor '" + tensor_name(index) + "': its buffer lies outside the file");
      data = bytes_.data() + b->offset();
      size = b->size();
    }
    if (!data) return std::nullopt;
    const Shape shape = tflite_shape(index);
    // Checked before allocating: a damaged shape must not ask for memory.
    const auto expected = static_cast<std::uint64_t>(element_count(shape)) * dtype_size(dtype_of(index));
    if (expected != size)
      throw Error("tensor '" + tensor_name(index) + "' of shape " + shape_to_string(shape) + " has " + std::to_string(size) +
                  " bytes of data, expected " + std::to_string(expected));
    Tensor out(dtype_of(index), shape);
    std::memcpy(out.bytes().data(), data, size);
    return out;
  }

  Tensor require_constant(std::int32_t index, const std::string& what) const {
    auto t = constant(index);
    if (!t) throw Error(what + " '" + tensor_name(index) + "' must be a constant");
    return std::move(*t);
  }

  struct QuantParams {
    std::vector<float> scales;
    std::vector<std::int64_t> zero_points;
    std::int32_t axis = 0;
  };

  // A quantized tensor's scales and zero points (one, or one per channel).
  QuantParams quant_params(std::int32_t index) const {
    const fb::QuantizationParameters* q = tensor(index).quantization();
    if (!q || !q->scale() || q->scale()->size() == 0)
      throw Error("tensor '" + tensor_name(index) + "' is integer but has no quantization scale");
    QuantParams p;
    p.scales.assign(q->scale()->begin(), q->scale()->end());
    if (q->zero_point()) p.zero_points.assign(q->zero_point()->begin(), q->zero_point()->end());
    if (p.zero_points.empty()) p.zero_points.assign(p.scales.size(), 0);
    if (p.zero_points.size() != p.scales.size())
      throw Error("tensor '" + tensor_name(index) + "' has " + std::to_string(p.scales.size()) + " scales but " +
                  std::to_string(p.zero_points.size()) + " zero points");
    for (float sc : p.scales)
      if (!(sc > 0) || !std::isfinite(sc)) throw Error("tensor '" + tensor_name(index) + "' has scale " + std::to_string(sc));
    const auto [qmin, qmax] = integer_range(dtype_of(index));
    for (auto zp : p.zero_points)
      if (zp < qmin || zp > qmax) throw Error("tensor '" + tensor_name(index) + "' has zero point " + std::to_string(zp));
    p.axis = q->quantized_dimension();
    return p;
  }

  static std::pair<std::int64_t, std::int64_t> integer_range(DType t) {
    if (t == DType::s8) return {-128, 127};
    if (t == DType::u8) return {0, 255};
    return {INT32_MIN, INT32_MAX};
  }

  ir::ValueId scale_constant(const std::string& name, float scale) {
    return add_constant(name + "/scale", Tensor::from<float>({}, std::vector<float>{scale}));
  }

  // An 8-bit scalar constant (zero points, clamp bounds) of the tensor's own type.
  ir::ValueId integer_constant(const std::string& name, std::int64_t value, DType type) {
    Tensor t(type, {});
    if (type == DType::s8) t.data<std::int8_t>()[0] = static_cast<std::int8_t>(value);
    else t.data<std::uint8_t>()[0] = static_cast<std::uint8_t>(value);
    return add_constant(name, std::move(t));
  }

  ir::ValueId zero_point_constant(const std::string& name, std::int64_t zero_point, DType type) {
    return integer_constant(name + "/zero_point", zero_point, type);
  }

  // A quantized activation's (scale, zero point) as graph constants.
  std::pair<ir::ValueId, ir::ValueId> activation_qparams(std::int32_t index) {
    const QuantParams q = quant_params(index);
    if (q.scales.size() != 1) throw Error("activation '" + tensor_name(index) + "' must be quantized per tensor");
    return {scale_constant(tensor_name(index), q.scales[0]),
            zero_point_constant(tensor_name(index), q.zero_points[0], dtype_of(index))};
  }

  // The integer range a fused activation confines an int8 output to, as
  // TFLite computes it (CalculateActivationRangeQuantized: the bounds'
  // real values quantized with round-half-away), or nothing when that is the
  // whole range of the type.
  std::optional<std::pair<std::int64_t, std::int64_t>> activation_clamp(fb::ActivationFunctionType f, std::int32_t output) {
    if (f == fb::ActivationFunctionType_NONE) return std::nullopt;
    const QuantParams q = quant_params(output);
    const auto [qmin, qmax] = integer_range(dtype_of(output));
    const auto quantize = [&](float v) { return q.zero_points[0] + static_cast<std::int64_t>(std::round(v / q.scales[0])); };
    std::int64_t lo = qmin, hi = qmax;
    if (f == fb::ActivationFunctionType_RELU) lo = std::max(qmin, quantize(0.f));
    else if (f == fb::ActivationFunctionType_RELU6) lo = std::max(qmin, quantize(0.f)), hi = std::min(qmax, quantize(6.f));
    else if (f == fb::ActivationFunctionType_RELU_N1_TO_1) lo = std::max(qmin, quantize(-1.f)), hi = std::min(qmax, quantize(1.f));
    else throw Error("fused activation " + std::string(fb::EnumNameActivationFunctionType(f)) + " on an integer output is not supported");
    if (lo == qmin && hi == qmax) return std::nullopt;
    return std::pair{lo, hi};
  }

  // Builds an integer op whose output a fused activation may clamp: the op
  // gets `name` when nothing is clamped, else an integer Clip does (so the
  // TFLite tensor name stays on the tensor TFLite writes).
  template <typename Build>
  ir::ValueId with_activation(fb::ActivationFunctionType f, std::int32_t output, const std::string& name, Build build) {
    const auto bounds = activation_clamp(f, output);
    if (!bounds) return build(name);
    const ir::ValueId y = build(name + "/before_activation");
    const DType t = dtype_of(output);
    return add("Clip", {y, integer_constant(name + "/activation_min", bounds->first, t), integer_constant(name + "/activation_max", bounds->second, t)},
               {}, name);
  }

  // TFLite runs these int8 ops on the stored integers, so input and output must share scale and zero point.
  void require_same_qparams(std::int32_t in, std::int32_t out) {
    const QuantParams a = quant_params(in), b = quant_params(out);
    if (a.scales != b.scales || a.zero_points != b.zero_points)
      throw Error("input and output have different scales or zero points; TFLite needs them equal for this integer op");
  }

  bool is_integer(std::int32_t index) const { return dtype_of(index) == DType::s8 || dtype_of(index) == DType::u8; }

  ir::ValueId value(std::int32_t index) const {
    auto it = values_.find(index);
    if (it == values_.end()) throw Error("tensor '" + tensor_name(index) + "' is read before any operator writes it");
    return it->second;
  }

  Shape ir_shape(ir::ValueId v) const { return graph_.value(v).shape; }

  // ---- building ----
  ir::ValueId add(const std::string& op, std::vector<ir::ValueId> inputs, std::map<std::string, ir::Attribute> attrs,
                  const std::string& name) {
    return add_typed_node(graph_, op, unique(name), std::move(inputs), std::move(attrs), origin_);
  }

  ir::ValueId add_constant(const std::string& name, Tensor data) { return graph_.add_initializer(unique(name), std::move(data)); }

  std::string unique(const std::string& name) {
    std::string candidate = name;
    for (int i = 1; !used_names_.insert(candidate).second; ++i) candidate = name + "_" + std::to_string(i);
    return candidate;
  }

  ir::ValueId fused_activation(ir::ValueId x, fb::ActivationFunctionType f, const std::string& name) {
    auto clip = [&](float lo, float hi) {
      return add("Clip", {x, add_constant(name + "/min", Tensor::from<float>({}, std::vector<float>{lo})),
                          add_constant(name + "/max", Tensor::from<float>({}, std::vector<float>{hi}))},
                 {}, name);
    };
    switch (f) {
      case fb::ActivationFunctionType_NONE: return x;
      case fb::ActivationFunctionType_RELU: return add("Relu", {x}, {}, name);
      case fb::ActivationFunctionType_RELU6: return clip(0.f, 6.f);
      case fb::ActivationFunctionType_RELU_N1_TO_1: return clip(-1.f, 1.f);
      case fb::ActivationFunctionType_TANH: return add("Tanh", {x}, {}, name);
      default: throw Error("fused activation " + std::string(fb::EnumNameActivationFunctionType(f)) + " is not supported");
    }
  }

  static std::string padding_name(fb::Padding p) { return p == fb::Padding_SAME ? "same" : "valid"; }

  // ---- convolution geometry, shared by the float and integer forms ----
  struct ConvShape {
    fb::Padding padding = fb::Padding_SAME;
    fb::ActivationFunctionType activation = fb::ActivationFunctionType_NONE;
    std::int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1, kh = 1, kw = 1;
    std::int64_t out_channels = 0, group = 1, in_per_group = 0;
  };

  // CONV_2D filters are OHWI, DEPTHWISE_CONV_2D filters 1 H W (C*m).
  static ConvShape conv_shape(const fb::Operator& op, const Shape& xs, const Shape& ws, bool depthwise) {
    if (xs.size() != 4) throw Error("expects a 4-D input");
    if (ws.size() != 4) throw Error("filter must be 4-D");
    ConvShape c;
    c.kh = ws[1], c.kw = ws[2];
    const std::int64_t in_channels = xs[1];
    if (depthwise) {
      const auto* o = op.builtin_options_as_DepthwiseConv2DOptions();
      if (!o) throw Error("missing DepthwiseConv2DOptions");
      c.padding = o->padding(), c.stride_h = o->stride_h(), c.stride_w = o->stride_w();
      c.dil_h = o->dilation_h_factor(), c.dil_w = o->dilation_w_factor(), c.activation = o->fused_activation_function();
      c.out_channels = ws[3], c.group = in_channels, c.in_per_group = 1;
      if (ws[0] != 1 || c.out_channels % in_channels) throw Error("filter " + shape_to_string(ws) + " does not fit the input's " + std::to_string(in_channels) + " channels");
    } else {
      const auto* o = op.builtin_options_as_Conv2DOptions();
      if (!o) throw Error("missing Conv2DOptions");
      c.padding = o->padding(), c.stride_h = o->stride_h(), c.stride_w = o->stride_w();
      c.dil_h = o->dilation_h_factor(), c.dil_w = o->dilation_w_factor(), c.activation = o->fused_activation_function();
      c.out_channels = ws[0], c.in_per_group = ws[3];
      if (c.in_per_group <= 0 || in_channels % c.in_per_group) throw Error("filter " + shape_to_string(ws) + " does not fit the input's " + std::to_string(in_channels) + " channels");
      c.group = in_channels / c.in_per_group;
    }
    for (auto v : {c.stride_h, c.stride_w, c.dil_h, c.dil_w})
      if (v <= 0 || v > (1 << 16)) throw Error("stride or dilation " + std::to_string(v) + " is out of range");
    return c;
  }

  // The filter in ONNX's (O, I/group, kh, kw) order, whatever its element type.
  static Tensor filter_to_onnx(const Tensor& w, const ConvShape& c, bool depthwise) {
    Tensor out(w.dtype(), {c.out_channels, c.in_per_group, c.kh, c.kw});
    const std::size_t size = dtype_size(w.dtype());
    const auto src = w.bytes();
    auto dst = out.bytes();
    for (std::int64_t o = 0; o < c.out_channels; ++o)
      for (std::int64_t i = 0; i < c.in_per_group; ++i)
        for (std::int64_t h = 0; h < c.kh; ++h)
          for (std::int64_t k = 0; k < c.kw; ++k) {
            const std::int64_t from = depthwise ? (h * c.kw + k) * c.out_channels + o : ((o * c.kh + h) * c.kw + k) * c.in_per_group + i;
            const std::int64_t to = ((o * c.in_per_group + i) * c.kh + h) * c.kw + k;
            std::copy_n(src.begin() + from * static_cast<std::int64_t>(size), size, dst.begin() + to * static_cast<std::int64_t>(size));
          }
    return out;
  }

  static std::map<std::string, ir::Attribute> conv_attributes(const ConvShape& c, const Shape& xs) {
    const auto ph = tensorflow_padding(padding_name(c.padding), xs[2], c.kh, c.stride_h, c.dil_h);
    const auto pw = tensorflow_padding(padding_name(c.padding), xs[3], c.kw, c.stride_w, c.dil_w);
    return {{"kernel_shape", std::vector<std::int64_t>{c.kh, c.kw}},
            {"strides", std::vector<std::int64_t>{c.stride_h, c.stride_w}},
            {"dilations", std::vector<std::int64_t>{c.dil_h, c.dil_w}},
            {"pads", std::vector<std::int64_t>{ph[0], pw[0], ph[1], pw[1]}},
            {"group", c.group}};
  }

  // ---- operators ----
  void translate() {
    const auto* subgraphs = model_->subgraphs();
    if (!subgraphs || subgraphs->size() == 0 || !subgraphs->Get(0)) throw Error("the model has no subgraph");
    if (subgraphs->size() > 1) throw Error("the model has " + std::to_string(subgraphs->size()) + " subgraphs; tinyq reads single-graph models");
    subgraph_ = subgraphs->Get(0);
    graph_.name = subgraph_->name() && subgraph_->name()->size() ? subgraph_->name()->str() : "tflite_model";
    if (!subgraph_->inputs() || subgraph_->inputs()->size() != 1 || !subgraph_->outputs() || subgraph_->outputs()->size() != 1)
      throw Error("tinyq reads models with one input and one output");

    const std::int32_t input = subgraph_->inputs()->Get(0);
    Shape shape = tflite_shape(input);
    if (shape.empty()) throw Error("the input has no shape");
    shape[0] = kBatch;
    if (element_count(shape) > (std::int64_t(1) << 26)) throw Error("input shape " + shape_to_string(shape) + " is implausibly large");
    if (shape.size() == 4) shape = {kBatch, shape[3], shape[1], shape[2]};
    used_names_.insert("input");
    // The graph always takes float values (for images, raw 0..255 pixels); an
    // integer model's input is quantized by its own parameters, as TFLite's
    // users do before they fill the int8 input (for the MLPerf model:
    // pixel - 128).
    const ir::ValueId float_input = graph_.add_input("input", DType::f32, shape);
    const DType input_type = dtype_of(input);
    if (input_type == DType::f32) {
      values_[input] = float_input;
    } else if (input_type == DType::s8 || input_type == DType::u8) {
      const QuantParams q = quant_params(input);
      values_[input] = add("QuantizeLinear", {float_input, scale_constant(tensor_name(input), q.scales[0]),
                                              zero_point_constant(tensor_name(input), q.zero_points[0], input_type)},
                           {}, tensor_name(input));
    } else {
      throw Error("input '" + tensor_name(input) + "' of type " + std::string(dtype_name(input_type)) + " is not supported");
    }

    const auto* operators = subgraph_->operators();
    if (operators)
      for (std::uint32_t i = 0; i < operators->size(); ++i) translate(*operators->Get(i), i);

    const std::int32_t output = subgraph_->outputs()->Get(0);
    ir::ValueId out = value(output);
    // The graph output is named "output", as the other importers name it, and
    // is float: an integer output is dequantized (its integer values stay
    // available under the TFLite tensor's name).
    if (graph_.value(out).dtype == DType::f32) {
      out = add("Identity", {out}, {}, "output");
    } else {
      const QuantParams q = quant_params(output);
      out = add("DequantizeLinear", {out, scale_constant(tensor_name(output), q.scales[0]),
                                     zero_point_constant(tensor_name(output), q.zero_points[0], graph_.value(out).dtype)},
                {}, "output");
    }
    graph_.mark_output(out);
  }

  void translate(const fb::Operator& op, std::uint32_t position) {
    const auto* codes = model_->operator_codes();
    if (!codes || op.opcode_index() >= codes->size()) throw Error("operator #" + std::to_string(position) + " has an invalid opcode index");
    const fb::OperatorCode* code = codes->Get(op.opcode_index());
    // Codes below 127 may sit only in the deprecated byte field (older files).
    const int builtin = std::max<int>(code->builtin_code(), code->deprecated_builtin_code());
    if (code->custom_code()) throw Error("operator #" + std::to_string(position) + " is the custom op '" + code->custom_code()->str() + "'");
    std::vector<std::int32_t> in, out;
    if (op.inputs()) in.assign(op.inputs()->begin(), op.inputs()->end());
    if (op.outputs()) out.assign(op.outputs()->begin(), op.outputs()->end());
    if (out.size() != 1) throw Error("operator #" + std::to_string(position) + " (" + op_name(builtin) + ") must have one output");
    const std::string name = tensor_name(out[0]);
    origin_ = op_name(builtin) + " '" + name + "'";
    auto need_inputs = [&](std::size_t n) {
      if (in.size() < n) throw Error(origin_ + ": expects " + std::to_string(n) + " inputs, has " + std::to_string(in.size()));
    };
    try {
      ir::ValueId y;
      const bool integer = !in.empty() && in[0] >= 0 && is_integer(in[0]);
      if (integer && builtin != kReshape && builtin != kDequantize) {
        y = translate_integer(op, builtin, in, out[0], name);
        values_[out[0]] = y;
        return;
      }
      switch (builtin) {
        case kQuantize: {
          need_inputs(1);
          const auto [scale, zero_point] = activation_qparams(out[0]);
          y = add("QuantizeLinear", {value(in[0]), scale, zero_point}, {}, name);
          break;
        }
        case kDequantize: {
          need_inputs(1);
          const auto [scale, zero_point] = activation_qparams(in[0]);
          y = add("DequantizeLinear", {value(in[0]), scale, zero_point}, {}, name);
          break;
        }
        case kConv2d:
        case kDepthwiseConv2d: need_inputs(2); y = convolution(op, in, builtin == kDepthwiseConv2d, name); break;
        case kFullyConnected: need_inputs(2); y = fully_connected(op, in, name); break;
        case kAdd: {
          need_inputs(2);
          const auto* o = op.builtin_options_as_AddOptions();
          y = add("Add", {value(in[0]), value(in[1])}, {}, o && o->fused_activation_function() ? name + "/add" : name);
          if (o) y = fused_activation(y, o->fused_activation_function(), name);
          break;
        }
        case kAveragePool2d:
        case kMaxPool2d: need_inputs(1); y = pooling(op, in, builtin == kAveragePool2d, name); break;
        case kMean: need_inputs(2); y = mean(op, in, name); break;
        case kPad: need_inputs(2); y = pad(in, name); break;
        case kReshape: need_inputs(1); y = reshape(in[0], out[0], name); break;
        case kSoftmax: {
          need_inputs(1);
          const auto* o = op.builtin_options_as_SoftmaxOptions();
          if (o && o->beta() != 1.f) throw Error("beta=" + std::to_string(o->beta()) + " is not supported (only 1)");
          const ir::ValueId x = value(in[0]);
          y = add("Softmax", {x}, {{"axis", std::int64_t{ir_shape(x).size() == 4 ? 1 : -1}}}, name);
          break;
        }
        case kRelu: need_inputs(1); y = add("Relu", {value(in[0])}, {}, name); break;
        case kRelu6: need_inputs(1); y = fused_activation(value(in[0]), fb::ActivationFunctionType_RELU6, name); break;
        case kLogistic: need_inputs(1); y = add("Sigmoid", {value(in[0])}, {}, name); break;
        case kTanh: need_inputs(1); y = add("Tanh", {value(in[0])}, {}, name); break;
        default: throw Error("operator " + op_name(builtin) + " is not supported by tinyq");
      }
      values_[out[0]] = y;
    } catch (const Error& e) {
      const std::string what = e.what();
      throw Error(what.rfind(origin_, 0) == 0 ? what : origin_ + ": " + what);
    }
  }

  // ---- integer operators: ONNX's QLinear* forms, run with TFLite's arithmetic ----
  ir::ValueId translate_integer(const fb::Operator& op, int builtin, const std::vector<std::int32_t>& in, std::int32_t out,
                                const std::string& name) {
    if (in.empty()) throw Error("has no input");
    if (dtype_of(out) != dtype_of(in[0]) && builtin != kQuantize)
      throw Error("integer input and " + std::string(dtype_name(dtype_of(out))) + " output are not supported together");
    switch (builtin) {
      case kConv2d:
      case kDepthwiseConv2d: {
        if (in.size() < 2) throw Error("expects a filter");
        const auto* c = op.builtin_options_as_Conv2DOptions();
        const auto* d = op.builtin_options_as_DepthwiseConv2DOptions();
        if (builtin == kConv2d ? !c : !d) throw Error("missing options");
        return with_activation(builtin == kConv2d ? c->fused_activation_function() : d->fused_activation_function(), out, name,
                               [&](const std::string& n) { return qconvolution(op, in, out, builtin == kDepthwiseConv2d, n); });
      }
      case kFullyConnected: {
        if (in.size() < 2) throw Error("expects weights");
        const auto* o = op.builtin_options_as_FullyConnectedOptions();
        if (o && o->keep_num_dims()) throw Error("keep_num_dims is not supported");
        return with_activation(o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE, out, name,
                               [&](const std::string& n) { return qfully_connected(in, out, n); });
      }
      case kAdd: {
        if (in.size() < 2) throw Error("expects two inputs");
        const auto* o = op.builtin_options_as_AddOptions();
        // Plain variables, not structured bindings: clang 14 (the fuzz build) cannot capture those in a lambda.
        ir::ValueId sa, za, sb, zb, sc, zc;
        std::tie(sa, za) = activation_qparams(in[0]);
        std::tie(sb, zb) = activation_qparams(in[1]);
        std::tie(sc, zc) = activation_qparams(out);
        return with_activation(o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE, out, name, [&](const std::string& n) {
          return add_contrib("QLinearAdd", {value(in[0]), sa, za, value(in[1]), sb, zb, sc, zc}, {}, n);
        });
      }
      case kAveragePool2d:
      case kMaxPool2d: {
        const auto* o = op.builtin_options_as_Pool2DOptions();
        if (!o) throw Error("missing Pool2DOptions");
        require_same_qparams(in[0], out);
        const ir::ValueId x = value(in[0]);
        const Shape xs = ir_shape(x);
        if (xs.size() != 4) throw Error("expects a 4-D input");
        ir::ValueId sx, zx, sy, zy;  // not structured bindings: captured below (see ADD)
        std::tie(sx, zx) = activation_qparams(in[0]);
        std::tie(sy, zy) = activation_qparams(out);
        return with_activation(o->fused_activation_function(), out, name, [&](const std::string& n) {
          // The whole plane in one window: a global average.
          if (builtin == kAveragePool2d && o->filter_height() == xs[2] && o->filter_width() == xs[3] && o->padding() == fb::Padding_VALID)
            return add_contrib("QLinearGlobalAveragePool", {x, sx, zx, sy, zy}, {{"channels_last", std::int64_t{0}}}, n);
          auto attrs = pool_attributes(*o, xs);
          if (builtin == kMaxPool2d) return add("MaxPool", {x}, std::move(attrs), n);  // the maximum of the codes is the code of the maximum
          attrs["count_include_pad"] = std::int64_t{0};
          attrs["channels_last"] = std::int64_t{0};
          return add_contrib("QLinearAveragePool", {x, sx, zx, sy, zy}, std::move(attrs), n);
        });
      }
      case kMean: {
        if (in.size() < 2) throw Error("expects axes");
        const ir::ValueId x = value(in[0]);
        require_spatial_mean_axes(x, in[1]);
        const auto* o = op.builtin_options_as_ReducerOptions();
        const bool keep = o && o->keep_dims();
        // ONNX Runtime's QLinearReduceMean; TFLite's runtime rounds it its own
        // way (XNNPACK's fp32 rescaling), which the runtime op follows.
        const auto [sx, zx] = activation_qparams(in[0]);
        const auto [sy, zy] = activation_qparams(out);
        return add_contrib("QLinearReduceMean", {x, sx, zx, sy, zy},
                           {{"axes", std::vector<std::int64_t>{2, 3}}, {"keepdims", std::int64_t{keep ? 1 : 0}}}, name);
      }
      case kPad: {
        if (in.size() < 2) throw Error("expects paddings");
        require_same_qparams(in[0], out);
        // PAD fills with the output's zero point: the real value 0.
        const auto [scale, zero_point] = activation_qparams(out);
        return pad(in, name, zero_point);
      }
      case kSoftmax: {
        const auto* o = op.builtin_options_as_SoftmaxOptions();
        if (o && o->beta() != 1.f) throw Error("beta=" + std::to_string(o->beta()) + " is not supported (only 1)");
        const ir::ValueId x = value(in[0]);
        if (ir_shape(x).size() != 2) throw Error("integer softmax is read for 2-D tensors only");
        const auto [sx, zx] = activation_qparams(in[0]);
        const auto [sy, zy] = activation_qparams(out);
        return add_contrib("QLinearSoftmax", {x, sx, zx, sy, zy}, {{"axis", std::int64_t{-1}}, {"opset", std::int64_t{13}}}, name);
      }
      default: throw Error("operator " + op_name(builtin) + " on integer tensors is not supported by tinyq");
    }
  }

  ir::ValueId add_contrib(const std::string& op, std::vector<ir::ValueId> inputs, std::map<std::string, ir::Attribute> attrs,
                          const std::string& name) {
    return add_typed_node(graph_, op, unique(name), std::move(inputs), std::move(attrs), origin_, "com.microsoft");
  }

  // Per-channel weight scales along `channels` (or one), their zero points
  // (TFLite's int8 weights are symmetric: all must be 0).
  std::pair<ir::ValueId, ir::ValueId> weight_qparams(std::int32_t index, std::int64_t channels, const std::string& name) {
    const QuantParams q = quant_params(index);
    if (q.scales.size() != 1 && static_cast<std::int64_t>(q.scales.size()) != channels)
      throw Error("weights '" + tensor_name(index) + "' have " + std::to_string(q.scales.size()) + " scales for " +
                  std::to_string(channels) + " output channels");
    for (auto zp : q.zero_points)
      if (zp != 0) throw Error("weights '" + tensor_name(index) + "' have a non-zero zero point");
    const auto n = static_cast<std::int64_t>(q.scales.size());
    Tensor zeros(dtype_of(index), n == 1 ? Shape{} : Shape{n});
    std::fill(zeros.bytes().begin(), zeros.bytes().end(), std::byte{0});
    return {add_constant(name + "/w_scale", n == 1 ? Tensor::from<float>({}, q.scales) : Tensor::from<float>({n}, q.scales)),
            add_constant(name + "/w_zero_point", std::move(zeros))};
  }

  ir::ValueId qconvolution(const fb::Operator& op, const std::vector<std::int32_t>& in, std::int32_t out, bool depthwise,
                           const std::string& name) {
    const ir::ValueId x = value(in[0]);
    const Tensor w = require_constant(in[1], "filter");
    if (w.dtype() != DType::s8 && w.dtype() != DType::u8) throw Error("filter type " + std::string(dtype_name(w.dtype())) + " is not supported");
    const ConvShape c = conv_shape(op, ir_shape(x), w.shape(), depthwise);
    const auto [sx, zx] = activation_qparams(in[0]);
    const auto [sw, zw] = weight_qparams(in[1], c.out_channels, name);
    const auto [sy, zy] = activation_qparams(out);
    std::vector<ir::ValueId> inputs{x, sx, zx, add_constant(name + "/weight", filter_to_onnx(w, c, depthwise)), sw, zw, sy, zy};
    if (in.size() > 2 && in[2] >= 0) {
      Tensor bias = require_constant(in[2], "bias");
      if (bias.dtype() != DType::s32 || bias.shape() != Shape{c.out_channels})
        throw Error("bias must be int32 of shape [" + std::to_string(c.out_channels) + "]");
      inputs.push_back(add_constant(name + "/bias", std::move(bias)));
    }
    return add("QLinearConv", std::move(inputs), conv_attributes(c, ir_shape(x)), name);
  }

  // FULLY_CONNECTED as a 1x1 QLinearConv on (N, K, 1, 1): one int32
  // accumulator with its bias and one requantization, exactly TFLite's
  // arithmetic (ONNX's QLinearMatMul has no bias input).
  ir::ValueId qfully_connected(const std::vector<std::int32_t>& in, std::int32_t out, const std::string& name) {
    ir::ValueId x = value(in[0]);
    if (ir_shape(x).size() != 2) x = flatten_nhwc(x, name + "/flatten");
    const Tensor w = require_constant(in[1], "weights");
    if (w.shape().size() != 2 || w.shape()[1] != ir_shape(x)[1])
      throw Error("weights " + shape_to_string(w.shape()) + " do not fit input " + shape_to_string(ir_shape(x)));
    const std::int64_t units = w.shape()[0], depth = w.shape()[1];
    Tensor weight(w.dtype(), {units, depth, 1, 1});
    std::copy(w.bytes().begin(), w.bytes().end(), weight.bytes().begin());
    const ir::ValueId x4 = add("Reshape", {x, add_constant(name + "/to_4d", Tensor::from<std::int64_t>({4}, std::vector<std::int64_t>{0, depth, 1, 1}))},
                               {}, name + "/as_image");
    const auto [sx, zx] = activation_qparams(in[0]);
    const auto [sw, zw] = weight_qparams(in[1], units, name);
    const auto [sy, zy] = activation_qparams(out);
    std::vector<ir::ValueId> inputs{x4, sx, zx, add_constant(name + "/weight", std::move(weight)), sw, zw, sy, zy};
    if (in.size() > 2 && in[2] >= 0) {
      Tensor bias = require_constant(in[2], "bias");
      if (bias.dtype() != DType::s32 || bias.shape() != Shape{units}) throw Error("bias must be int32 of shape [" + std::to_string(units) + "]");
      inputs.push_back(add_constant(name + "/bias", std::move(bias)));
    }
    const ir::ValueId y4 = add("QLinearConv", std::move(inputs),
                               {{"kernel_shape", std::vector<std::int64_t>{1, 1}}, {"pads", std::vector<std::int64_t>{0, 0, 0, 0}}},
                               name + "/conv1x1");
    return add("Flatten", {y4}, {{"axis", std::int64_t{1}}}, name);
  }

  ir::ValueId convolution(const fb::Operator& op, const std::vector<std::int32_t>& in, bool depthwise, const std::string& name) {
    const ir::ValueId x = value(in[0]);
    const Tensor w = require_constant(in[1], "filter");
    if (w.dtype() != DType::f32) throw Error("a float convolution needs float filters");
    const ConvShape c = conv_shape(op, ir_shape(x), w.shape(), depthwise);
    std::vector<ir::ValueId> inputs{x, add_constant(name + "/weight", filter_to_onnx(w, c, depthwise))};
    if (in.size() > 2 && in[2] >= 0) {
      Tensor bias = require_constant(in[2], "bias");
      if (bias.shape() != Shape{c.out_channels}) throw Error("bias has shape " + shape_to_string(bias.shape()));
      inputs.push_back(add_constant(name + "/bias", std::move(bias)));
    }
    ir::ValueId y = add("Conv", std::move(inputs), conv_attributes(c, ir_shape(x)), c.activation ? name + "/conv" : name);
    return fused_activation(y, c.activation, name);
  }

  ir::ValueId fully_connected(const fb::Operator& op, const std::vector<std::int32_t>& in, const std::string& name) {
    const auto* o = op.builtin_options_as_FullyConnectedOptions();
    ir::ValueId x = value(in[0]);
    const Tensor w = require_constant(in[1], "weights");  // (out, in), as Gemm's B with transB=1
    if (w.dtype() != DType::f32) throw Error("integer weights are not read yet");
    if (w.shape().size() != 2) throw Error("weights must be 2-D");
    if (o && o->keep_num_dims()) throw Error("keep_num_dims is not supported");
    if (ir_shape(x).size() != 2) x = flatten_nhwc(x, name + "/flatten");
    if (ir_shape(x)[1] != w.shape()[1]) throw Error("weights " + shape_to_string(w.shape()) + " do not fit input " + shape_to_string(ir_shape(x)));
    std::vector<ir::ValueId> inputs{x, add_constant(name + "/weight", w)};
    if (in.size() > 2 && in[2] >= 0) inputs.push_back(add_constant(name + "/bias", require_constant(in[2], "bias")));
    const auto act = o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE;
    ir::ValueId y = add("Gemm", std::move(inputs), {{"transB", std::int64_t{1}}}, act ? name + "/gemm" : name);
    return fused_activation(y, act, name);
  }

  // ONNX pooling attributes of a TFLite window over an NCHW input.
  std::map<std::string, ir::Attribute> pool_attributes(const fb::Pool2DOptions& o, const Shape& xs) {
    const std::int64_t fh = o.filter_height(), fw = o.filter_width(), sh = o.stride_h(), sw = o.stride_w();
    for (auto v : {fh, fw, sh, sw})
      if (v <= 0 || v > (1 << 16)) throw Error("filter or stride " + std::to_string(v) + " is out of range");
    const auto ph = tensorflow_padding(padding_name(o.padding()), xs[2], fh, sh, 1);
    const auto pw = tensorflow_padding(padding_name(o.padding()), xs[3], fw, sw, 1);
    return {{"kernel_shape", std::vector<std::int64_t>{fh, fw}},
            {"strides", std::vector<std::int64_t>{sh, sw}},
            {"pads", std::vector<std::int64_t>{ph[0], pw[0], ph[1], pw[1]}}};
  }

  void require_spatial_mean_axes(ir::ValueId x, std::int32_t axes_index) {
    const Tensor axes = require_constant(axes_index, "axes");
    std::set<std::int64_t> nhwc_axes;
    for (std::int64_t a : to_int32_vector(axes, "axes")) nhwc_axes.insert(a < 0 ? a + 4 : a);
    if (ir_shape(x).size() != 4 || nhwc_axes != std::set<std::int64_t>{1, 2})
      throw Error("only the mean over height and width of a 4-D tensor is supported");
  }

  ir::ValueId pooling(const fb::Operator& op, const std::vector<std::int32_t>& in, bool average, const std::string& name) {
    const auto* o = op.builtin_options_as_Pool2DOptions();
    if (!o) throw Error("missing Pool2DOptions");
    const ir::ValueId x = value(in[0]);
    const Shape xs = ir_shape(x);
    if (xs.size() != 4) throw Error("expects a 4-D input");
    auto attrs = pool_attributes(*o, xs);
    if (average) attrs["count_include_pad"] = std::int64_t{0};  // TFLite averages the valid part of a window
    const auto act = o->fused_activation_function();
    ir::ValueId y = add(average ? "AveragePool" : "MaxPool", {x}, std::move(attrs), act ? name + "/pool" : name);
    return fused_activation(y, act, name);
  }

  ir::ValueId mean(const fb::Operator& op, const std::vector<std::int32_t>& in, const std::string& name) {
    const ir::ValueId x = value(in[0]);
    require_spatial_mean_axes(x, in[1]);
    const auto* o = op.builtin_options_as_ReducerOptions();
    const bool keep = o && o->keep_dims();
    ir::ValueId y = add("GlobalAveragePool", {x}, {}, keep ? name : name + "/pool");
    return keep ? y : add("Flatten", {y}, {{"axis", std::int64_t{1}}}, name);
  }

  // `fill`: the constant of an integer PAD (the output zero point); float PAD fills with 0.
  ir::ValueId pad(const std::vector<std::int32_t>& in, const std::string& name, std::optional<ir::ValueId> fill = std::nullopt) {
    const ir::ValueId x = value(in[0]);
    const Tensor p = require_constant(in[1], "paddings");
    const auto v32 = to_int32_vector(p, "paddings");
    const std::vector<std::int64_t> v(v32.begin(), v32.end());
    if (ir_shape(x).size() != 4 || v.size() != 8) throw Error("only 4-D PAD is supported");
    for (auto e : v)
      if (e < 0 || e > (1 << 16)) throw Error("padding " + std::to_string(e) + " is out of range");
    // TFLite: [[n0,n1],[h0,h1],[w0,w1],[c0,c1]] over NHWC; ONNX: begins then ends over NCHW.
    const std::vector<std::int64_t> pads{v[0], v[6], v[2], v[4], v[1], v[7], v[3], v[5]};
    std::vector<ir::ValueId> inputs{x, add_constant(name + "/pads", Tensor::from<std::int64_t>({8}, pads))};
    if (fill) inputs.push_back(*fill);
    return add("Pad", std::move(inputs), {{"mode", std::string("constant")}}, name);
  }

  // (N, C, H, W) -> (N, H*W*C) in TFLite's NHWC memory order.
  ir::ValueId flatten_nhwc(ir::ValueId x, const std::string& name) {
    const ir::ValueId t = add("Transpose", {x}, {{"perm", std::vector<std::int64_t>{0, 2, 3, 1}}}, name + "/to_nhwc");
    return add("Flatten", {t}, {{"axis", std::int64_t{1}}}, name);
  }

  ir::ValueId reshape(std::int32_t in, std::int32_t out, const std::string& name) {
    ir::ValueId x = value(in);
    const Shape target = tflite_shape(out);
    if (target.empty()) throw Error("the output has no shape");
    if (ir_shape(x).size() == 4)
      x = add("Transpose", {x}, {{"perm", std::vector<std::int64_t>{0, 2, 3, 1}}}, name + "/to_nhwc");
    std::vector<std::int64_t> shape(target.begin(), target.end());
    shape[0] = 0;  // keep the batch
    const bool to_spatial = shape.size() == 4;
    ir::ValueId y = add("Reshape", {x, add_constant(name + "/shape", Tensor::from<std::int64_t>({static_cast<std::int64_t>(shape.size())}, shape))},
                        {}, to_spatial ? name + "/reshape" : name);
    if (to_spatial) y = add("Transpose", {y}, {{"perm", std::vector<std::int64_t>{0, 3, 1, 2}}}, name);
    return y;
  }

  std::string file_;
  std::vector<std::uint8_t> bytes_;
  const fb::Model* model_ = nullptr;
  const fb::SubGraph* subgraph_ = nullptr;
  ir::Graph graph_;
  std::map<std::int32_t, ir::ValueId> values_;
  std::set<std::string> used_names_;
  std::string origin_;
};

}  // namespace

ir::Graph import_tflite(const std::filesystem::path& path) { return TfliteReader(path).read(); }

}  // namespace tinyq::importers
