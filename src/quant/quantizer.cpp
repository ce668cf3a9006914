#include "quant/quantizer.h"

#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "core/error.h"
#include "core/parallel_for.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activation.h"
#include "passes/fuse_qdq.h"
#include "passes/quantization_prep.h"
#include "runtime/executor.h"

namespace tinyq::quant {
namespace {

using ir::Graph;
using ir::Node;
using ir::ValueId;

bool is(const Node& n, const char* op) { return n.op_type == op && n.domain.empty(); }
bool is_conv(const Graph& g, const Node& n) {
  return (is(n, "Conv") || (n.op_type == "FusedConv" && n.domain == "com.microsoft")) && g.is_initializer(n.inputs[1]) &&
         g.value(n.inputs[1]).shape.size() == 4 && (n.inputs.size() < 3 || g.is_initializer(n.inputs[2]));
}
bool is_passthrough(const Node& n) {
  return is(n, "MaxPool") || is(n, "Flatten") || is(n, "Reshape") || is(n, "Transpose");
}

// How each node of the prepared float graph is quantized.
enum class Role { conv, add, global_pool, passthrough, absorbed_relu, float_op };

struct Plan {
  std::vector<Role> roles;
  // For a quantized op: the float value whose range gives its output params
  // (the trailing ReLU's output for an Add whose ReLU is absorbed).
  std::map<std::uint32_t, ValueId> output_of;
};

Plan plan_roles(const Graph& g, const QuantizeOptions& o, const Overrides& overrides) {
  auto kept_float = [&](const Node& n) {
    auto it = overrides.layers.find(n.name);
    return it != overrides.layers.end() && it->second.keep_float;
  };
  Plan plan;
  plan.roles.assign(g.nodes().size(), Role::float_op);
  // A ReLU is free when the range [0, max] puts the zero point on the
  // element type's minimum, where QuantizeLinear saturates negatives. Not so
  // for symmetric ranges, nor for s8 reduced to [-64, 63] (the zero point is
  // -64 but QuantizeLinear still clamps at -128).
  const bool relu_absorbable = !o.symmetric_activation && (o.activation == DType::u8 || !o.reduce_range);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    Role role = Role::float_op;
    if (is_conv(g, n) && (relu_absorbable || n.op_type == "Conv")) role = Role::conv;
    else if (is(n, "Add") && n.inputs.size() == 2 && !g.is_initializer(n.inputs[0]) && !g.is_initializer(n.inputs[1]) &&
             g.value(n.inputs[0]).shape == g.value(n.inputs[1]).shape)
      role = Role::add;
    else if (is(n, "GlobalAveragePool")) role = Role::global_pool;
    else if (is_passthrough(n)) role = Role::passthrough;
    if (plan.roles[i] == Role::absorbed_relu) continue;
    if (kept_float(n) && role != Role::passthrough) role = Role::float_op;
    plan.roles[i] = role;
    if (role == Role::conv || role == Role::add || role == Role::global_pool) plan.output_of[static_cast<std::uint32_t>(i)] = n.outputs[0];
    if (role == Role::add && relu_absorbable) {
      const auto readers = g.consumers(n.outputs[0]);
      if (readers.size() == 1 && !g.is_graph_output(n.outputs[0]) && is(g.node(readers[0]), "Relu")) {
        plan.roles[readers[0].index] = Role::absorbed_relu;
        plan.output_of[static_cast<std::uint32_t>(i)] = g.node(readers[0]).outputs[0];
      }
    }
  }
  return plan;
}

// Values that need a calibrated range: outputs of quantized ops, and float
// values (graph inputs, float-op outputs) read by a quantized op.
std::set<std::uint32_t> values_to_calibrate(const Graph& g, const Plan& plan) {
  std::set<std::uint32_t> quantized_outputs, needed;
  for (const auto& [node, value] : plan.output_of) needed.insert(value.index), quantized_outputs.insert(value.index);
  // Pass-through outputs inherit their input's params: follow chains.
  std::set<std::uint32_t> inherits;
  for (std::size_t i = 0; i < g.nodes().size(); ++i)
    if (plan.roles[i] == Role::passthrough) inherits.insert(g.nodes()[i].outputs[0].index);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    const Role r = plan.roles[i];
    if (r == Role::float_op || r == Role::absorbed_relu) continue;
    const Node& n = g.nodes()[i];
    const std::size_t activation_inputs = r == Role::add ? 2 : 1;
    for (std::size_t k = 0; k < activation_inputs; ++k) {
      const auto v = n.inputs[k].index;
      if (!quantized_outputs.count(v) && !inherits.count(v)) needed.insert(v);
    }
  }
  return needed;
}

// How one activation value is quantized: its range, the codes it may use and
// whether it is symmetric (the scheme's, or an override's).
struct ActivationChoice {
  Range range;
  IntRange codes;
  int bits = 8;
  bool symmetric = false;
};

class QdqBuilder {
 public:
  QdqBuilder(const Graph& source, const QuantizeOptions& o, const std::map<std::uint32_t, ActivationChoice>& ranges,
             const Overrides& overrides)
      : g_(source), o_(o), ranges_(ranges), overrides_(overrides) {
    q_.name = source.name;
  }

  QuantizationResult build(const Plan& plan, const std::map<std::uint32_t, Range>& observed) {
    QuantizationResult result;
    for (ValueId in : g_.inputs()) float_of_[in.index] = q_.add_input(g_.value(in).name, g_.value(in).dtype, g_.value(in).shape);
    for (std::size_t i = 0; i < g_.nodes().size(); ++i) {
      const Node& n = g_.nodes()[i];
      switch (plan.roles[i]) {
        case Role::conv: emit_conv(n); break;
        case Role::add: emit_add(n, plan.output_of.at(static_cast<std::uint32_t>(i))); break;
        case Role::global_pool: emit_unary(n, "GlobalAveragePool"); break;
        case Role::passthrough: emit_passthrough(n); break;
        case Role::absorbed_relu: break;  // folded into the Add's output range
        case Role::float_op:
          emit_float(n);
          result.float_nodes.push_back(n.name + " (" + n.op_type + "): no quantized kernel in this scheme; runs in float on DequantizeLinear outputs");
          break;
      }
    }
    for (ValueId out : g_.outputs()) q_.mark_output(float_of_.count(out.index) ? float_of_.at(out.index) : dequantized(out));
    if (q_.outputs().size() == 1) q_.rename_value(q_.outputs()[0], "output");
    q_.compact();
    ir::verify(q_);
    for (const auto& [v, info] : quant_of_) {
      if (!ranges_.count(v)) continue;
      const ActivationChoice& c = ranges_.at(v);
      result.tensors.push_back({g_.values()[v].name, observed.at(v), c.range, info.params, c.codes, c.bits});
    }
    for (std::size_t i = 0; i < g_.nodes().size(); ++i) {
      const Node& n = g_.nodes()[i];
      const Role r = plan.roles[i];
      const bool kept = r == Role::float_op && overrides_.layers.count(n.name) && overrides_.layers.at(n.name).keep_float;
      if (r != Role::conv && r != Role::add && r != Role::global_pool && !kept) continue;
      LayerQuantization l;
      l.node = n.name;
      l.op_type = n.op_type;
      l.kept_float = kept;
      for (std::size_t k = 0; k < (r == Role::add || (kept && is(n, "Add")) ? 2u : 1u); ++k) l.inputs.push_back(name_of(n.inputs[k]));
      l.output = plan.output_of.count(static_cast<std::uint32_t>(i)) ? g_.values()[plan.output_of.at(static_cast<std::uint32_t>(i)).index].name
                                                                      : name_of(n.outputs[0]);
      if (auto w = weight_of_.find(n.name); w != weight_of_.end()) l.weight = w->second, l.weight_bits = weight_bits(n.name);
      result.layers.push_back(std::move(l));
    }
    result.qdq = std::move(q_);
    return result;
  }

 private:
  struct QInfo {
    ValueId quantized, scale, zero_point;
    QuantParams params;
  };

  std::string name_of(ValueId source) const { return g_.value(source).name; }

  Tensor scalar_zero_point(DType t, std::int32_t zp) {
    Tensor z(t, {});
    if (t == DType::u8) z.data<std::uint8_t>()[0] = static_cast<std::uint8_t>(zp);
    else if (t == DType::s8) z.data<std::int8_t>()[0] = static_cast<std::int8_t>(zp);
    else z.data<std::int32_t>()[0] = zp;
    return z;
  }

  ValueId node(const std::string& op, const std::string& name, std::vector<ValueId> inputs, const std::string& out_name,
               std::map<std::string, ir::Attribute> attrs = {}, const std::string& origin = "", const std::string& domain = "") {
    Node n{name, op, domain, std::move(inputs), {}, std::move(attrs), origin};
    std::vector<ir::TensorType> types;
    for (ValueId id : n.inputs)
      if (id.valid()) types.push_back({q_.value(id).dtype, q_.value(id).shape});
    const auto out = ir::infer_node_types(q_, n, types);
    n.outputs.push_back(q_.add_value(q_.unique_name(out_name), out[0].dtype, out[0].shape));
    q_.add_node(n);
    return n.outputs[0];
  }

  QuantParams activation_params(std::uint32_t v) const {
    auto it = ranges_.find(v);
    if (it == ranges_.end()) throw Error("quantizer: no calibrated range for tensor '" + g_.values()[v].name + "'");
    return params_for_range(it->second.range, o_.activation, it->second.codes, it->second.symmetric);
  }

  int weight_bits(const std::string& node) const {
    auto it = overrides_.layers.find(node);
    return it != overrides_.layers.end() && it->second.weight_bits ? *it->second.weight_bits : 8;
  }
  bool per_channel(const std::string& node) const {
    auto it = overrides_.layers.find(node);
    return it != overrides_.layers.end() && it->second.per_channel ? *it->second.per_channel : o_.per_channel;
  }

  // Registers `float_value` (in q_) as quantized with the params of source value v.
  const QInfo& quantize_as(std::uint32_t v, ValueId float_value, QuantParams params) {
    const std::string base = g_.values()[v].name;
    QInfo info;
    info.params = params;
    info.scale = q_.add_initializer(q_.unique_name(base + "_scale"), Tensor::from<float>({}, std::vector<float>{params.scales[0]}));
    info.zero_point = q_.add_initializer(q_.unique_name(base + "_zero_point"), scalar_zero_point(params.dtype, params.zero_points[0]));
    // Only a bits override (< 8) clamps the codes; the scheme's own ranges
    // (8 bits, or 7 with reduce_range) saturate as ONNX Runtime's quantizer
    // leaves them, at the element type's limits.
    const int bits = ranges_.count(v) ? ranges_.at(v).bits : 8;
    const IntRange codes = ranges_.count(v) ? ranges_.at(v).codes : type_int_range(params.dtype);
    if (bits == 8) {
      info.quantized = node("QuantizeLinear", base + "_QuantizeLinear", {float_value, info.scale, info.zero_point}, base + "_quantized");
    } else {
      // Fewer than 8 bits: QuantizeLinear saturates to the type's range, so
      // an integer Clip confines the codes. ONNX Runtime fuses the QDQ pairs
      // on either side and runs the Clip on the integers, as tinyq does.
      const ValueId q = node("QuantizeLinear", base + "_QuantizeLinear", {float_value, info.scale, info.zero_point}, base + "_quantized_8bit");
      const ValueId lo = q_.add_initializer(q_.unique_name(base + "_code_min"), scalar_zero_point(params.dtype, codes.qmin));
      const ValueId hi = q_.add_initializer(q_.unique_name(base + "_code_max"), scalar_zero_point(params.dtype, codes.qmax));
      info.quantized = node("Clip", base + "_ClipCodes", {q, lo, hi}, base + "_quantized");
    }
    return quant_of_[v] = info;
  }

  const QInfo& quantized(ValueId source) {
    auto it = quant_of_.find(source.index);
    if (it != quant_of_.end()) return it->second;
    return quantize_as(source.index, float_of_.at(source.index), activation_params(source.index));
  }

  // The float form of a value for a float op: the original float tensor when
  // there is one, else the dequantized tensor.
  ValueId float_value(ValueId source) {
    auto f = float_of_.find(source.index);
    if (f != float_of_.end()) return f->second;
    return dequantized(source);
  }

  // What a quantized op reads: always DequantizeLinear of the quantized tensor
  // (that is the QDQ pattern ONNX Runtime fuses).
  ValueId dequantized(ValueId source) {
    auto d = dq_of_.find(source.index);
    if (d != dq_of_.end()) return d->second;
    const QInfo& info = quantized(source);
    const std::string base = name_of(source);
    return dq_of_[source.index] = node("DequantizeLinear", base + "_DequantizeLinear", {info.quantized, info.scale, info.zero_point},
                                       base + "_dequantized");
  }

  void emit_conv(const Node& n) {
    const QInfo& x = quantized(n.inputs[0]);
    const float x_scale = x.params.scales[0];
    const ValueId x_dq = dequantized(n.inputs[0]);
    const Tensor& w = g_.initializer(n.inputs[1]);
    const QuantParams wp = weight_params(w, o_.weight, per_channel(n.name), o_.reduce_range, weight_bits(n.name));
    weight_of_[n.name] = wp;
    const Shape per{static_cast<std::int64_t>(wp.scales.size())};
    const bool per_channel = wp.scales.size() > 1;
    Tensor w_zp(wp.dtype, per_channel ? per : Shape{});
    for (std::size_t c = 0; c < wp.zero_points.size(); ++c) {
      if (wp.dtype == DType::u8) w_zp.data<std::uint8_t>()[c] = static_cast<std::uint8_t>(wp.zero_points[c]);
      else w_zp.data<std::int8_t>()[c] = static_cast<std::int8_t>(wp.zero_points[c]);
    }
    const ValueId wq = q_.add_initializer(q_.unique_name(n.name + "/weight_quantized"), quantize_weight(w, wp));
    const ValueId ws = q_.add_initializer(q_.unique_name(n.name + "/weight_scale"),
                                          Tensor::from<float>(per_channel ? per : Shape{}, wp.scales));
    const ValueId wz = q_.add_initializer(q_.unique_name(n.name + "/weight_zero_point"), std::move(w_zp));
    std::map<std::string, ir::Attribute> dq_axis;
    if (per_channel) dq_axis["axis"] = std::int64_t{0};
    const ValueId w_dq = node("DequantizeLinear", n.name + "/weight_DequantizeLinear", {wq, ws, wz}, n.name + "/weight_dequantized", dq_axis);
    std::vector<ValueId> conv_inputs{x_dq, w_dq};
    if (n.inputs.size() > 2 && n.inputs[2].valid()) {
      const Tensor& b = g_.initializer(n.inputs[2]);
      std::vector<float> b_scales;
      for (float s : wp.scales) b_scales.push_back(x_scale * s);
      const ValueId bq = q_.add_initializer(q_.unique_name(n.name + "/bias_quantized"), quantize_bias(b, x_scale, wp.scales));
      const ValueId bs = q_.add_initializer(q_.unique_name(n.name + "/bias_scale"), Tensor::from<float>(per_channel ? per : Shape{}, b_scales));
      const ValueId bz = q_.add_initializer(q_.unique_name(n.name + "/bias_zero_point"), Tensor(DType::s32, per_channel ? per : Shape{}));
      conv_inputs.push_back(node("DequantizeLinear", n.name + "/bias_DequantizeLinear", {bq, bs, bz}, n.name + "/bias_dequantized", dq_axis));
    }
    std::map<std::string, ir::Attribute> attrs = n.attributes;
    attrs.erase("activation");
    attrs.erase("activation_params");
    const ValueId y = node("Conv", n.name, conv_inputs, name_of(n.outputs[0]) + "_float", attrs, n.origin);
    // A fused ReLU/Clip lives in the output range (asymmetric activations only,
    // see plan_roles): the calibrated post-activation range starts at 0.
    quantize_as(n.outputs[0].index, y, activation_params(n.outputs[0].index));
  }

  void emit_add(const Node& n, ValueId effective_output) {
    quantized(n.inputs[0]);
    quantized(n.inputs[1]);
    const ValueId y = node("Add", n.name, {dequantized(n.inputs[0]), dequantized(n.inputs[1])}, name_of(n.outputs[0]) + "_float", {}, n.origin);
    quantize_as(effective_output.index, y, activation_params(effective_output.index));
  }

  void emit_unary(const Node& n, const char* op) {
    quantized(n.inputs[0]);
    const ValueId y = node(op, n.name, {dequantized(n.inputs[0])}, name_of(n.outputs[0]) + "_float", n.attributes, n.origin);
    quantize_as(n.outputs[0].index, y, activation_params(n.outputs[0].index));
  }

  void emit_passthrough(const Node& n) {
    const QInfo in = quantized(n.inputs[0]);
    std::vector<ValueId> inputs{dequantized(n.inputs[0])};
    for (std::size_t k = 1; k < n.inputs.size(); ++k) inputs.push_back(copy_constant(n.inputs[k]));
    const ValueId y = node(n.op_type, n.name, inputs, name_of(n.outputs[0]) + "_float", n.attributes, n.origin);
    // Same scale and zero point as the input: the fusion pass then runs the op
    // directly on the integers.
    QInfo out;
    out.params = in.params;
    out.scale = in.scale;
    out.zero_point = in.zero_point;
    out.quantized = node("QuantizeLinear", name_of(n.outputs[0]) + "_QuantizeLinear", {y, in.scale, in.zero_point},
                         name_of(n.outputs[0]) + "_quantized");
    quant_of_[n.outputs[0].index] = out;
  }

  ValueId copy_constant(ValueId source) {
    if (!source.valid()) return source;
    auto it = const_of_.find(source.index);
    if (it != const_of_.end()) return it->second;
    return const_of_[source.index] = q_.add_initializer(q_.unique_name(name_of(source)), g_.initializer(source));
  }

  void emit_float(const Node& n) {
    std::vector<ValueId> inputs;
    for (ValueId in : n.inputs) inputs.push_back(!in.valid() ? in : g_.is_initializer(in) ? copy_constant(in) : float_value(in));
    Node copy{n.name, n.op_type, n.domain, inputs, {}, n.attributes, n.origin};
    std::vector<ir::TensorType> types;
    for (ValueId id : inputs)
      if (id.valid()) types.push_back({q_.value(id).dtype, q_.value(id).shape});
    const auto out = ir::infer_node_types(q_, copy, types);
    for (std::size_t k = 0; k < n.outputs.size(); ++k) {
      copy.outputs.push_back(q_.add_value(q_.unique_name(name_of(n.outputs[k])), out[k].dtype, out[k].shape));
      float_of_[n.outputs[k].index] = copy.outputs.back();
    }
    q_.add_node(copy);
  }

  const Graph& g_;
  const QuantizeOptions& o_;
  const std::map<std::uint32_t, ActivationChoice>& ranges_;
  const Overrides& overrides_;
  std::map<std::string, QuantParams> weight_of_;
  Graph q_;
  std::map<std::uint32_t, ValueId> float_of_, dq_of_, const_of_;
  std::map<std::uint32_t, QInfo> quant_of_;
};

}  // namespace

ir::Graph prepare_for_quantization(ir::Graph graph) {
  passes::fold_batchnorm(graph);
  passes::fuse_activation(graph);
  passes::average_pool_to_global(graph);
  passes::gemm_to_pointwise_conv(graph);
  ir::verify(graph);
  return graph;
}

Calibration calibrate(const ir::Graph& float_graph, const CalibrationSource& images, std::size_t image_count,
                      const CalibrateOptions& options) {
  if (image_count == 0) throw Error("quantize: the calibration set is empty");
  Calibration calibration;
  calibration.prepared = prepare_for_quantization(float_graph);
  calibration.image_count = image_count;
  calibration.bins = options.bins;
  calibration.averaging_constant = options.averaging_constant;
  const ir::Graph& g = calibration.prepared;
  // Every float tensor a scheme may quantize: graph inputs and node outputs.
  // (Which ones a scheme needs depends on its options; observing all of them
  // once is what lets build() serve any scheme without another pass.)
  std::vector<std::string> tap_names;
  std::vector<TensorObserver*> observers;
  for (std::uint32_t v = 0; v < g.values().size(); ++v) {
    const ir::Value& value = g.values()[v];
    if (value.initializer || value.dtype != DType::f32) continue;
    tap_names.push_back(value.name);
  }
  for (const auto& name : tap_names)
    observers.push_back(&calibration.observers.emplace(name, TensorObserver(name, options.bins, options.averaging_constant)).first->second);

  // One streaming pass over the images, batches in parallel. Each thread
  // observes every image in place as the executor produces it (no copies)
  // into observers of its own; they merge exactly at the end (see
  // TensorObserver), so the result does not depend on the threads. Only the
  // moving averages need batch order: each batch's ranges are kept for them.
  runtime::OpOptions run_options;
  run_options.kernels = options.kernels;
  const runtime::Executor executor(g, run_options);
  const std::size_t batch = std::max<std::size_t>(options.batch, 1);
  const std::size_t batches = (image_count + batch - 1) / batch;
  std::mutex mutex;
  std::vector<std::unique_ptr<std::vector<TensorObserver>>> thread_sets;  // one observer per tap, per thread at work
  std::vector<std::vector<TensorObserver>*> idle;
  std::vector<std::vector<Range>> batch_ranges(batches);  // [batch][tap]
  parallel_for(batches, options.threads, [&](std::size_t b) {
    std::vector<TensorObserver>* mine = nullptr;
    {
      std::lock_guard lock(mutex);
      if (idle.empty()) {
        thread_sets.push_back(std::make_unique<std::vector<TensorObserver>>());
        for (const auto& name : tap_names) thread_sets.back()->emplace_back(name, options.bins, options.averaging_constant);
        idle.push_back(thread_sets.back().get());
      }
      mine = idle.back();
      idle.pop_back();
    }
    std::vector<Range>& ranges = batch_ranges[b];
    ranges.resize(tap_names.size());
    std::vector<bool> seen(tap_names.size(), false);
    const std::size_t begin = b * batch, count = std::min(batch, image_count - begin);
    std::vector<Tensor> input;
    input.push_back(images(begin, count));  // moved in (a braced list would copy it)
    executor.run_visiting(input, tap_names, [&](std::size_t tap, const Tensor& value) {
      const Range r = (*mine)[tap].accumulate(value.data<float>());
      ranges[tap] = seen[tap] ? Range{std::min(ranges[tap].min, r.min), std::max(ranges[tap].max, r.max)} : r;
      seen[tap] = true;
    });
    std::lock_guard lock(mutex);
    idle.push_back(mine);
  });
  for (std::size_t i = 0; i < tap_names.size(); ++i) {
    for (const auto& set : thread_sets) observers[i]->merge((*set)[i]);
    for (std::size_t b = 0; b < batches; ++b) observers[i]->record_batch(batch_ranges[b][i]);
  }
  return calibration;
}

namespace {

// The override that applies to value v: the tensor's own entry, then the
// layer whose output it is (a layer's settings win).
TensorOverride override_for(const Graph& g, const Plan& plan, const Overrides& overrides, std::uint32_t v) {
  TensorOverride t;
  auto merge = [&](const TensorOverride& o) {
    if (o.method) t.method = o.method;
    if (o.range) t.range = o.range;
    if (o.range_scale) t.range_scale = o.range_scale;
    if (o.bits) t.bits = o.bits;
    if (o.symmetric) t.symmetric = o.symmetric;
  };
  if (auto it = overrides.tensors.find(g.values()[v].name); it != overrides.tensors.end()) merge(it->second);
  for (const auto& [node, value] : plan.output_of)
    if (value.index == v)
      if (auto it = overrides.layers.find(g.nodes()[node].name); it != overrides.layers.end()) merge(it->second.output);
  return t;
}

// Every name in the overrides must be in the prepared graph: a typo must not
// silently quantize the model as if there were no override.
void check_override_names(const Graph& g, const Plan& plan, const Overrides& overrides) {
  std::string layers;
  for (std::size_t i = 0; i < g.nodes().size(); ++i)
    if (plan.output_of.count(static_cast<std::uint32_t>(i)) || plan.roles[i] == Role::float_op) layers += (layers.empty() ? "" : ", ") + g.nodes()[i].name;
  for (const auto& [name, l] : overrides.layers) {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < g.nodes().size(); ++i)
      if (g.nodes()[i].name == name) found = i;
    if (!found) throw Error("overrides: no layer named '" + name + "' (layers: " + layers + ")");
    const bool quantized = plan.output_of.count(static_cast<std::uint32_t>(*found)) > 0;
    if (!quantized && !l.keep_float && !l.empty())
      throw Error("overrides: layer '" + name + "' (" + g.nodes()[*found].op_type + ") is not quantized in this scheme; only keep_float applies to it");
    if (l.weight_bits || l.per_channel)
      if (quantized && !is_conv(g, g.nodes()[*found]))
        throw Error("overrides: layer '" + name + "' (" + g.nodes()[*found].op_type + ") has no weights: weight_bits and per_channel do not apply");
  }
  for (const auto& [name, t] : overrides.tensors) {
    bool found = false;
    for (const auto& v : g.values()) found = found || (v.name == name && !v.initializer && v.dtype == DType::f32);
    if (!found) throw Error("overrides: no float activation tensor named '" + name + "'");
  }
}

}  // namespace

QuantizationResult build(const Calibration& calibration, const QuantizeOptions& options, const Overrides& overrides) {
  if (options.activation == DType::s8 && options.weight == DType::u8)
    throw Error("quantize: s8 activations with u8 weights have no kernel in ONNX Runtime; use --weight s8");
  if (options.calibration.bins != calibration.bins || options.calibration.averaging_constant != calibration.averaging_constant)
    throw Error("quantize: the calibration was recorded with " + std::to_string(calibration.bins) +
                " histogram bins and averaging constant " + std::to_string(calibration.averaging_constant) +
                "; build it again to use other values");
  const ir::Graph& g = calibration.prepared;
  const Plan plan = plan_roles(g, options, overrides);
  check_override_names(g, plan, overrides);
  const std::set<std::uint32_t> wanted = values_to_calibrate(g, plan);
  // Choosing a range from a histogram (entropy, MSE) costs far more than
  // reading min/max: one tensor per task, on every thread.
  std::vector<std::pair<std::uint32_t, const TensorObserver*>> list;
  for (auto v : wanted) {
    auto it = calibration.observers.find(g.values()[v].name);
    if (it == calibration.observers.end()) throw Error("quantizer: tensor '" + g.values()[v].name + "' was not calibrated");
    list.emplace_back(v, &it->second);
  }
  std::vector<ActivationChoice> chosen(list.size());
  parallel_for(list.size(), options.threads, [&](std::size_t i) {
    const TensorOverride o = override_for(g, plan, overrides, list[i].first);
    ActivationChoice& c = chosen[i];
    c.bits = o.bits.value_or(8);
    c.codes = activation_int_range(options.activation, options.reduce_range, c.bits);
    c.symmetric = o.symmetric.value_or(options.symmetric_activation);
    CalibrationOptions method = options.calibration;
    if (o.method) method.method = *o.method;
    c.range = o.range ? *o.range : choose_range(*list[i].second, method, c.codes.qmax - c.codes.qmin + 1);
    if (o.range_scale) c.range = {static_cast<float>(c.range.min * *o.range_scale), static_cast<float>(c.range.max * *o.range_scale)};
  });
  std::map<std::uint32_t, ActivationChoice> ranges;
  std::map<std::uint32_t, Range> observed;
  for (std::size_t i = 0; i < list.size(); ++i) {
    ranges[list[i].first] = chosen[i];
    observed[list[i].first] = {list[i].second->min(), list[i].second->max()};
  }
  return QdqBuilder(g, options, ranges, overrides).build(plan, observed);
}

QuantizationResult quantize(const ir::Graph& float_graph, const CalibrationSource& images, std::size_t image_count,
                            const QuantizeOptions& options, const Overrides& overrides) {
  return build(calibrate(float_graph, images, image_count, calibrate_options(options)), options, overrides);
}

CalibrateOptions calibrate_options(const QuantizeOptions& o) {
  CalibrateOptions c;
  c.bins = o.calibration.bins;
  c.averaging_constant = o.calibration.averaging_constant;
  c.batch = o.batch;
  c.threads = o.threads;
  c.kernels = o.kernels;
  return c;
}

ir::Graph to_qoperator(ir::Graph qdq) {
  passes::fuse_qdq(qdq, passes::FuseTarget::qoperator);
  return qdq;
}

std::string describe(const QuantizeOptions& o) {
  std::string s = calibration_method_name(o.calibration.method);
  s += o.per_channel ? " per-channel" : " per-tensor";
  s += std::string(" act ") + (o.activation == DType::u8 ? "u8" : "s8") + (o.symmetric_activation ? " symmetric" : " asymmetric");
  s += std::string(" weights ") + (o.weight == DType::u8 ? "u8" : "s8");
  if (o.reduce_range) s += " reduce-range";
  return s;
}

}  // namespace tinyq::quant
