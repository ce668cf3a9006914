// The integer engine's ops: prepare reads scales and zero points once,
// computes the requantization multipliers (float in ONNX Runtime's order, or
// fixed-point) and picks the kernel for the element types.
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "ir/shape_inference.h"

#include "core/error.h"
#include "kernels/reference/quantized.h"
#include "kernels/x86/conv_avx2.h"
#include "kernels/x86/conv_avx512_vnni.h"
#include "kernels/x86/depthwise_avx2.h"
#include "kernels/x86/gemm_avx2.h"
#include "kernels/x86/pool_avx2.h"
#include "kernels/x86/quantized_avx2.h"
#include "kernels/x86/quantized_avx512.h"
#include "runtime/ops/ops.h"
#include "runtime/qlinear_node.h"

namespace tinyq::runtime::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& what) {
  throw Error("node '" + node.name + "' (" + node.op_type + "): " + what);
}

}  // namespace

std::vector<float> constant_scales(const ir::Graph& graph, const ir::Node& node, std::size_t index) {
  const Tensor& t = constant_input(graph, node, index, "scale");
  if (t.dtype() != DType::f32) fail(node, "scale must be f32");
  auto d = t.data<float>();
  for (float s : d)
    if (!(s > 0.f) || !std::isfinite(s)) fail(node, "scale " + std::to_string(s) + " is not a finite positive number");
  return {d.begin(), d.end()};
}

// Zero points as int32; an omitted zero point is a single 0.
std::vector<std::int32_t> constant_zero_points(const ir::Graph& graph, const ir::Node& node, std::size_t index) {
  if (index >= node.inputs.size() || !node.inputs[index].valid()) return {0};
  return to_int32_vector(constant_input(graph, node, index, "zero point"),
                         "node '" + node.name + "' (" + node.op_type + "): zero point");
}

namespace {

std::pair<std::int32_t, std::int32_t> range_of(DType t) {
  return t == DType::u8 ? std::pair{0, 255} : std::pair{-128, 127};
}

kernels::Requantizer make_requantizer(const ir::Node& node, const std::vector<double>& real, std::int32_t zero_point,
                                      DType out_type, const OpOptions& options, const std::vector<float>& float_multipliers) {
  kernels::Requantizer r;
  r.mode = options.requant;
  r.multipliers = float_multipliers;
  for (double m : real) {
    try {
      r.fixed.push_back(kernels::to_fixed_multiplier(m));
    } catch (const Error& e) {
      fail(node, e.what());
    }
  }
  r.zero_point = zero_point;
  std::tie(r.qmin, r.qmax) = range_of(out_type);
  return r;
}

template <typename F>
void dispatch_8bit(DType t, const ir::Node& node, F&& f) {
  if (t == DType::u8) f(std::uint8_t{});
  else if (t == DType::s8) f(std::int8_t{});
  else fail(node, "expects u8 or s8 data");
}

// f(TX{}, TW{}) for the three activation/weight type pairs that have kernels
// (ONNX Runtime has none for s8 activations with u8 weights either).
template <typename F>
void dispatch_operands(DType x, DType w, const ir::Node& node, F&& f) {
  if (x == DType::u8 && w == DType::s8) f(std::uint8_t{}, std::int8_t{});
  else if (x == DType::u8 && w == DType::u8) f(std::uint8_t{}, std::uint8_t{});
  else if (x == DType::s8 && w == DType::s8) f(std::int8_t{}, std::int8_t{});
  else if (x == DType::s8 && w == DType::u8) fail(node, "s8 activations with u8 weights are not supported (ONNX Runtime has no such kernel either)");
  else fail(node, "expects u8 or s8 data");
}

}  // namespace

QLinearParams qlinear_params(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  QLinearParams q;
  using namespace qlinear_input;
  q.x_scale = constant_scales(graph, node, x_scale).at(0);
  q.x_zero_point = constant_zero_points(graph, node, x_zero_point).at(0);
  q.w_scales = constant_scales(graph, node, w_scale);
  q.w_zero_points = constant_zero_points(graph, node, w_zero_point);
  q.y_scale = constant_scales(graph, node, y_scale).at(0);
  q.y_zero_point = constant_zero_points(graph, node, y_zero_point).at(0);
  // ONNX Runtime computes x_scale * w_scale / y_scale in float, left to right.
  for (float ws : q.w_scales) {
    q.multipliers.push_back(q.x_scale * ws / q.y_scale);
    q.real_multipliers.push_back(static_cast<double>(q.x_scale) * ws / q.y_scale);
  }
  q.requantizer = make_requantizer(node, q.real_multipliers, q.y_zero_point, graph.value(node.outputs[0]).dtype, options, q.multipliers);
  if (node.op_type == "QLinearConv") {
    const auto strides = node.attr_ints("strides", {1, 1});
    const auto dilations = node.attr_ints("dilations", {1, 1});
    const auto pads = ir::spatial_pads(node, 2);
    q.geometry.stride_h = strides[0], q.geometry.stride_w = strides[1];
    q.geometry.dilation_h = dilations[0], q.geometry.dilation_w = dilations[1];
    q.geometry.pad_top = pads[0], q.geometry.pad_left = pads[1];
    q.geometry.group = node.attr_int("group", 1);
  }
  return q;
}

PreparedOp prepare_quantize_linear(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const auto scales = constant_scales(graph, node, 1);
  const auto zps = constant_zero_points(graph, node, 2);
  if (scales.size() != 1 || zps.size() != 1) fail(node, "tinyq quantizes activations per tensor only");
  const float scale = scales[0];
  const std::int32_t zp = zps[0];
  if (kernels::use_avx2(options.kernels) && graph.value(node.outputs[0]).dtype != DType::s32)
    return {[scale, zp](std::span<const Tensor* const> in, std::span<Tensor> out) {
              if (out[0].dtype() == DType::u8) kernels::x86::quantize_linear_avx2(in[0]->data<float>(), scale, zp, out[0].data<std::uint8_t>());
              else kernels::x86::quantize_linear_avx2(in[0]->data<float>(), scale, zp, out[0].data<std::int8_t>());
            },
            "x86-avx2"};
  return [scale, zp](std::span<const Tensor* const> in, std::span<Tensor> out) {
    switch (out[0].dtype()) {
      case DType::u8: kernels::quantize_linear(in[0]->data<float>(), scale, zp, out[0].data<std::uint8_t>()); break;
      case DType::s8: kernels::quantize_linear(in[0]->data<float>(), scale, zp, out[0].data<std::int8_t>()); break;
      default: kernels::quantize_linear(in[0]->data<float>(), scale, zp, out[0].data<std::int32_t>()); break;
    }
  };
}

PreparedOp prepare_dequantize_linear(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const auto scales = constant_scales(graph, node, 1);
  auto zps = constant_zero_points(graph, node, 2);
  if (zps.size() == 1 && scales.size() > 1) zps.assign(scales.size(), zps[0]);
  if (zps.size() != scales.size()) fail(node, "scale and zero point sizes differ");
  const std::int64_t axis_attr = node.attr_int("axis", 1);
  const bool fast = kernels::use_avx2(options.kernels);
  return {[scales, zps, axis_attr, fast](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const auto& s = in[0]->shape();
    std::int64_t axis_size = 1, inner = 1;
    if (scales.size() > 1) {
      const auto axis = static_cast<std::size_t>(axis_attr < 0 ? axis_attr + static_cast<std::int64_t>(s.size()) : axis_attr);
      axis_size = s[axis];
      for (std::size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
    }
    auto y = out[0].data<float>();
    auto run = [&](auto x) {
      if (fast) kernels::x86::dequantize_linear_avx2(x, std::span<const float>(scales), std::span<const std::int32_t>(zps), axis_size, inner, y);
      else kernels::dequantize_linear(x, std::span<const float>(scales), std::span<const std::int32_t>(zps), axis_size, inner, y);
    };
    switch (in[0]->dtype()) {
      case DType::u8: run(in[0]->data<std::uint8_t>()); break;
      case DType::s8: run(in[0]->data<std::int8_t>()); break;
      case DType::s32: run(in[0]->data<std::int32_t>()); break;
      default: throw Error("DequantizeLinear: unsupported input type");
    }
  },
          fast ? "x86-avx2" : "reference"};
}

// The two builds of the AVX-512 VNNI convolution: real instructions, and
// SIMDe's portable ones (--kernels avx512-emulated).
struct VnniKernel {
  static constexpr const char* name = "x86-avx512-vnni";
  template <typename TX, typename TY>
  static void run(const kernels::Conv2DParams& p, const kernels::x86::PackedConvVnni& packed, const TX* x, TY* y) {
    kernels::x86::avx512_vnni::qlinear_conv<TX, TY>(p, packed, x, y);
  }
};
struct EmulatedVnniKernel {
  static constexpr const char* name = "x86-avx512-vnni-emulated";
  template <typename TX, typename TY>
  static void run(const kernels::Conv2DParams& p, const kernels::x86::PackedConvVnni& packed, const TX* x, TY* y) {
    kernels::x86::avx512_vnni_emulated::qlinear_conv<TX, TY>(p, packed, x, y);
  }
};

// The prepared QLinearConv on a VNNI kernel, or nothing when some w - w_zp
// needs more than a signed byte. The activation type is fixed here, from the graph.
template <typename Kernel>
std::optional<PreparedOp> prepare_vnni_conv(const ir::Graph& graph, const ir::Node& node, const QLinearParams& q,
                                            const kernels::Conv2DParams& geometry, const Tensor& weight,
                                            std::span<const std::int32_t> bias) {
  namespace in_ = qlinear_input;
  std::optional<PreparedOp> prepared;
  const Shape ws = weight.shape();
  dispatch_operands(graph.value(node.inputs[in_::x]).dtype, weight.dtype(), node, [&](auto x_type, auto w_type) {
    using TX = decltype(x_type);
    using TW = decltype(w_type);
    auto packed = kernels::x86::pack_conv_q_vnni<TX, TW>(geometry, weight.data<TW>(), q.w_zero_points, bias, q.x_zero_point,
                                                         q.requantizer);
    if (!packed) return;
    auto shared = std::make_shared<const kernels::x86::PackedConvVnni>(std::move(*packed));
    prepared = PreparedOp{[geometry = q.geometry, shared, ws, node](std::span<const Tensor* const> in, std::span<Tensor> out) {
                            const auto p = conv_params_for(geometry, in[in_::x]->shape(), ws, out[0].shape());
                            if (in[in_::x]->dtype() != dtype_of<TX>()) fail(node, "input type differs from the graph's");
                            dispatch_8bit(out[0].dtype(), node, [&](auto y_type) {
                              using TY = decltype(y_type);
                              Kernel::template run<TX, TY>(p, *shared, in[in_::x]->data<TX>().data(), out[0].data<TY>().data());
                            });
                          },
                          Kernel::name};
  });
  return prepared;
}

// A depthwise QLinearConv (group == channels, one output channel per group)
// on the AVX2 depthwise kernel; weight and bias must be constants.
std::optional<PreparedOp> prepare_depthwise_conv(const ir::Graph& graph, const ir::Node& node, const QLinearParams& q, bool has_bias) {
  namespace in_ = qlinear_input;
  const Shape& xs = graph.value(node.inputs[in_::x]).shape;
  if (!graph.is_initializer(node.inputs[in_::w]) || (has_bias && !graph.is_initializer(node.inputs[in_::bias]))) return std::nullopt;
  const Tensor& weight = graph.initializer(node.inputs[in_::w]);
  const Shape ws = weight.shape();
  if (xs.size() != 4 || xs[1] != q.geometry.group || ws[0] != q.geometry.group || ws[1] != 1) return std::nullopt;
  kernels::Conv2DParams geometry = q.geometry;
  geometry.out_channels = geometry.in_channels = ws[0], geometry.kernel_h = ws[2], geometry.kernel_w = ws[3];
  with_spatial_sizes(geometry, graph, node);
  const std::span<const std::int32_t> bias =
      has_bias ? graph.initializer(node.inputs[in_::bias]).data<std::int32_t>() : std::span<const std::int32_t>{};
  std::shared_ptr<const kernels::x86::PackedDepthwiseQ> packed;
  dispatch_8bit(weight.dtype(), node, [&](auto w_type) {
    using TW = decltype(w_type);
    packed = std::make_shared<const kernels::x86::PackedDepthwiseQ>(
        kernels::x86::pack_depthwise_q<TW>(geometry, weight.data<TW>(), q.w_zero_points, bias, q.x_zero_point, q.requantizer));
  });
  return PreparedOp{[geometry = q.geometry, packed, ws, node](std::span<const Tensor* const> in, std::span<Tensor> out) {
                      const auto p = conv_params_for(geometry, in[in_::x]->shape(), ws, out[0].shape());
                      dispatch_8bit(in[in_::x]->dtype(), node, [&](auto x_type) {
                        dispatch_8bit(out[0].dtype(), node, [&](auto y_type) {
                          using TX = decltype(x_type);
                          using TY = decltype(y_type);
                          kernels::x86::qlinear_depthwise_avx2<TX, TY>(p, *packed, in[in_::x]->data<TX>().data(), out[0].data<TY>().data());
                        });
                      });
                    },
                    "x86-avx2"};
}

namespace {

// The channels [first, first + count) of per-channel parameters (a single
// per-tensor value stays as it is).
template <typename T>
std::vector<T> channel_slice(const std::vector<T>& v, std::int64_t first, std::int64_t count) {
  if (v.size() <= 1) return v;
  return {v.begin() + first, v.begin() + first + count};
}

// A grouped QLinearConv that is not depthwise (Keras groups, a depth
// multiplier above 1): each group packed for the VNNI kernel (where it has
// it and every group's weights fit) or the AVX2 one, run by run_groups.
std::optional<PreparedOp> prepare_grouped_qlinear_conv(const ir::Graph& graph, const ir::Node& node, const OpOptions& options,
                                                       const QLinearParams& q, bool has_bias) {
  namespace in_ = qlinear_input;
  const Tensor& weight = graph.initializer(node.inputs[in_::w]);
  const Shape ws = weight.shape();
  const Shape& xs = graph.value(node.inputs[in_::x]).shape;
  const std::int64_t groups = q.geometry.group;
  if (xs.size() != 4 || xs[1] != ws[1] * groups || ws[0] % groups != 0) return std::nullopt;
  kernels::Conv2DParams geometry = q.geometry;
  geometry.group = 1, geometry.out_channels = ws[0] / groups, geometry.in_channels = ws[1];
  geometry.kernel_h = ws[2], geometry.kernel_w = ws[3];
  with_spatial_sizes(geometry, graph, node);
  const std::int64_t per_group = geometry.out_channels, group_weights = per_group * ws[1] * ws[2] * ws[3];
  const std::span<const std::int32_t> bias =
      has_bias ? graph.initializer(node.inputs[in_::bias]).data<std::int32_t>() : std::span<const std::int32_t>{};
  std::optional<PreparedOp> prepared;
  dispatch_operands(graph.value(node.inputs[in_::x]).dtype, weight.dtype(), node, [&](auto x_type, auto w_type) {
    using TX = decltype(x_type);
    using TW = decltype(w_type);
    // Group g's weights and its slice of the per-channel parameters, packed by `pack`.
    auto pack_group = [&](std::int64_t g, auto pack) {
      kernels::Requantizer r = q.requantizer;
      r.multipliers = channel_slice(r.multipliers, g * per_group, per_group), r.fixed = channel_slice(r.fixed, g * per_group, per_group);
      return pack(weight.data<TW>().subspan(g * group_weights, group_weights), channel_slice(q.w_zero_points, g * per_group, per_group),
                  bias.empty() ? bias : bias.subspan(g * per_group, per_group), r);
    };
    const bool emulated = !kernels::use_avx512_vnni(options.kernels) && kernels::use_avx512_emulated(options.kernels);
    std::shared_ptr<std::vector<kernels::x86::PackedConvVnni>> vnni;
    if (kernels::use_avx512_vnni(options.kernels) || emulated) {
      vnni = std::make_shared<std::vector<kernels::x86::PackedConvVnni>>();
      for (std::int64_t g = 0; g < groups && vnni; ++g) {
        auto packed = pack_group(g, [&](auto w, const auto& zps, auto b, const auto& r) {
          return kernels::x86::pack_conv_q_vnni<TX, TW>(geometry, w, zps, b, q.x_zero_point, r);
        });
        if (packed) vnni->push_back(std::move(*packed));
        else vnni.reset();  // some group's weights need more than a signed byte: AVX2 for all
      }
    }
    std::shared_ptr<std::vector<kernels::x86::PackedConvQ>> avx2;
    if (!vnni) {
      avx2 = std::make_shared<std::vector<kernels::x86::PackedConvQ>>();
      for (std::int64_t g = 0; g < groups; ++g)
        avx2->push_back(pack_group(g, [&](auto w, const auto& zps, auto b, const auto& r) {
          return kernels::x86::pack_conv_q<TW>(geometry, w, zps, b, q.x_zero_point, r);
        }));
    }
    const int kernel = vnni ? (emulated ? 1 : 2) : 0;
    prepared = PreparedOp{[base = q.geometry, vnni, avx2, ws, node, kernel](std::span<const Tensor* const> in, std::span<Tensor> out) {
                            const auto p = conv_params_for(base, in[in_::x]->shape(), ws, out[0].shape());
                            if (in[in_::x]->dtype() != dtype_of<TX>()) fail(node, "input type differs from the graph's");
                            dispatch_8bit(out[0].dtype(), node, [&](auto y_type) {
                              using TY = decltype(y_type);
                              run_groups(p, in[in_::x]->data<TX>().data(), out[0].data<TY>().data(),
                                         [&](std::int64_t g, const kernels::Conv2DParams& one, const TX* x, TY* y) {
                                           const auto i = static_cast<std::size_t>(g);
                                           if (kernel == 2) kernels::x86::avx512_vnni::qlinear_conv<TX, TY>(one, (*vnni)[i], x, y);
                                           else if (kernel == 1) kernels::x86::avx512_vnni_emulated::qlinear_conv<TX, TY>(one, (*vnni)[i], x, y);
                                           else kernels::x86::qlinear_conv_avx2<TX, TY>(one, (*avx2)[i], x, y);
                                         });
                            });
                          },
                          kernel == 2 ? "x86-avx512-vnni" : kernel == 1 ? "x86-avx512-vnni-emulated" : "x86-avx2"};
  });
  return prepared;
}

}  // namespace

PreparedOp prepare_qlinear_conv(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  namespace in_ = qlinear_input;
  if (graph.value(node.inputs[in_::w]).shape.size() != 4) fail(node, "tinyq runs 2-D convolutions only");
  const QLinearParams q = qlinear_params(graph, node, options);
  const bool has_bias = has_qlinear_bias(node);
  dispatch_operands(graph.value(node.inputs[in_::x]).dtype, graph.value(node.inputs[in_::w]).dtype, node, [](auto, auto) {});
  // TFLite's double rounding runs on the reference kernel (the fast kernels
  // requantize in float or single-rounding fixed point only).
  if (kernels::use_avx2(options.kernels) && options.requant != kernels::RequantMode::tflite && q.geometry.group > 1)
    if (auto depthwise = prepare_depthwise_conv(graph, node, q, has_bias)) return *depthwise;
  if (kernels::use_avx2(options.kernels) && options.requant != kernels::RequantMode::tflite && q.geometry.group > 1 &&
      graph.is_initializer(node.inputs[in_::w]) && (!has_bias || graph.is_initializer(node.inputs[in_::bias])))
    if (auto grouped = prepare_grouped_qlinear_conv(graph, node, options, q, has_bias)) return *grouped;
  if (kernels::use_avx2(options.kernels) && options.requant != kernels::RequantMode::tflite && q.geometry.group == 1 &&
      graph.is_initializer(node.inputs[in_::w]) &&
      (!has_bias || graph.is_initializer(node.inputs[in_::bias]))) {
    const Tensor& weight = graph.initializer(node.inputs[in_::w]);
    const Shape ws = weight.shape();
    const std::span<const std::int32_t> bias =
        has_bias ? graph.initializer(node.inputs[in_::bias]).data<std::int32_t>() : std::span<const std::int32_t>{};
    kernels::Conv2DParams geometry = q.geometry;
    geometry.out_channels = ws[0], geometry.in_channels = ws[1], geometry.kernel_h = ws[2], geometry.kernel_w = ws[3];
    with_spatial_sizes(geometry, graph, node);
    // AVX-512 VNNI where the CPU has it (or its emulation is asked for) and
    // every w - w_zp fits a signed byte.
    std::optional<PreparedOp> vnni;
    if (kernels::use_avx512_vnni(options.kernels))
      vnni = prepare_vnni_conv<VnniKernel>(graph, node, q, geometry, weight, bias);
    else if (kernels::use_avx512_emulated(options.kernels))
      vnni = prepare_vnni_conv<EmulatedVnniKernel>(graph, node, q, geometry, weight, bias);
    if (vnni) return *vnni;
    std::shared_ptr<const kernels::x86::PackedConvQ> packed;
    dispatch_8bit(weight.dtype(), node, [&](auto w_type) {
      using TW = decltype(w_type);
      packed = std::make_shared<const kernels::x86::PackedConvQ>(kernels::x86::pack_conv_q<TW>(
          geometry, weight.data<TW>(), q.w_zero_points, bias, q.x_zero_point, q.requantizer));
    });
    return {[geometry = q.geometry, packed, ws, node](std::span<const Tensor* const> in, std::span<Tensor> out) {
              const auto p = conv_params_for(geometry, in[in_::x]->shape(), ws, out[0].shape());
              dispatch_8bit(in[in_::x]->dtype(), node, [&](auto x_type) {
                dispatch_8bit(out[0].dtype(), node, [&](auto y_type) {
                  using TX = decltype(x_type);
                  using TY = decltype(y_type);
                  kernels::x86::qlinear_conv_avx2<TX, TY>(p, *packed, in[in_::x]->data<TX>().data(), out[0].data<TY>().data());
                });
              });
            },
            "x86-avx2"};
  }
  return [q, node](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const auto p = conv_params_for(q.geometry, in[in_::x]->shape(), in[in_::w]->shape(), out[0].shape());
    std::vector<std::int32_t> acc(out[0].element_count());
    const std::span<const std::int32_t> bias =
        in.size() > in_::bias && in[in_::bias] ? in[in_::bias]->data<std::int32_t>() : std::span<const std::int32_t>{};
    dispatch_operands(in[in_::x]->dtype(), in[in_::w]->dtype(), node, [&](auto x_type, auto w_type) {
      using TX = decltype(x_type);
      using TW = decltype(w_type);
      kernels::qlinear_conv_accumulate<TX, TW>(p, in[in_::x]->data<TX>(), q.x_zero_point, in[in_::w]->data<TW>(), q.w_zero_points,
                                               bias, acc);
    });
    dispatch_8bit(out[0].dtype(), node, [&](auto y_type) {
      using TY = decltype(y_type);
      kernels::requantize_channels<TY>(p.batch, p.out_channels, p.out_h * p.out_w, acc, q.requantizer, out[0].data<TY>());
    });
  };
}

namespace {

// QLinearMatMul's output from its int32 accumulators [m, n]: per-column
// requantization (columns are the "channels" of the matrix).
void requantize_columns(const ir::Node& node, const kernels::Requantizer& requantizer, std::int64_t n,
                        std::span<const std::int32_t> acc, Tensor& out) {
  dispatch_8bit(out.dtype(), node, [&](auto y_type) {
    using TY = decltype(y_type);
    auto y = out.data<TY>();
    for (std::size_t i = 0; i < acc.size(); ++i) y[i] = static_cast<TY>(requantizer.apply(acc[i], i % static_cast<std::size_t>(n)));
  });
}

}  // namespace

PreparedOp prepare_qlinear_matmul(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const QLinearParams q = qlinear_params(graph, node, options);
  namespace in_ = qlinear_input;
  // A constant 2-D B on AVX2: packed once as int16 pairs of b - b_zp.
  if (kernels::use_avx2(options.kernels) && graph.is_initializer(node.inputs[in_::w]) &&
      graph.initializer(node.inputs[in_::w]).shape().size() == 2) {
    const Tensor& b = graph.initializer(node.inputs[in_::w]);
    const std::int64_t k = b.shape()[0], n = b.shape()[1];
    std::shared_ptr<const std::vector<std::int16_t>> packed;
    dispatch_8bit(b.dtype(), node, [&](auto b_type) {
      using TB = decltype(b_type);
      packed = std::make_shared<const std::vector<std::int16_t>>(kernels::x86::pack_qmatmul_b<TB>(k, n, b.data<TB>(), q.w_zero_points));
    });
    dispatch_operands(graph.value(node.inputs[in_::x]).dtype, b.dtype(), node, [](auto, auto) {});
    return {[q, node, packed, k, n](std::span<const Tensor* const> in, std::span<Tensor> out) {
              const std::int64_t m = static_cast<std::int64_t>(in[0]->element_count()) / k;
              thread_local std::vector<std::int32_t> acc;
              acc.resize(static_cast<std::size_t>(m * n));
              dispatch_8bit(in[0]->dtype(), node, [&](auto a_type) {
                using TA = decltype(a_type);
                kernels::x86::qlinear_matmul_accumulate_avx2<TA>(m, n, k, in[0]->data<TA>(), q.x_zero_point, *packed, acc);
              });
              requantize_columns(node, q.requantizer, n, acc, out[0]);
            },
            "x86-avx2"};
  }
  return [q, node](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const std::int64_t k = in[3]->shape()[0], n = in[3]->shape()[1];
    const std::int64_t m = static_cast<std::int64_t>(in[0]->element_count()) / k;
    std::vector<std::int32_t> acc(out[0].element_count());
    dispatch_operands(in[0]->dtype(), in[3]->dtype(), node, [&](auto a_type, auto b_type) {
      using TA = decltype(a_type);
      using TB = decltype(b_type);
      kernels::qlinear_matmul_accumulate<TA, TB>(m, n, k, in[0]->data<TA>(), q.x_zero_point, in[3]->data<TB>(), q.w_zero_points, acc);
    });
    requantize_columns(node, q.requantizer, n, acc, out[0]);
  };
}

PreparedOp prepare_qlinear_add(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  kernels::QAddParams p;
  namespace in_ = qlinear_add_input;
  p.a_scale = constant_scales(graph, node, in_::a_scale).at(0);
  p.a_zp = constant_zero_points(graph, node, in_::a_zero_point).at(0);
  p.b_scale = constant_scales(graph, node, in_::b_scale).at(0);
  p.b_zp = constant_zero_points(graph, node, in_::b_zero_point).at(0);
  p.c_scale = constant_scales(graph, node, in_::c_scale).at(0);
  p.c_zp = constant_zero_points(graph, node, in_::c_zero_point).at(0);
  p.mode = options.requant;
  std::tie(p.qmin, p.qmax) = range_of(graph.value(node.outputs[0]).dtype);
  const bool fast = kernels::use_avx2(options.kernels) &&
                    (p.mode == kernels::RequantMode::float_multiplier ||
                     (p.mode == kernels::RequantMode::fixed_point && kernels::x86::qlinear_add_fixed_fits_avx2(p)));
  const bool wide = fast && kernels::use_avx512(options.kernels);
  return {[p, node, fast, wide](std::span<const Tensor* const> in, std::span<Tensor> out) {
            namespace in_ = qlinear_add_input;
            if (in[in_::a]->shape() != in[in_::b]->shape()) fail(node, "tinyq's QLinearAdd needs equal input shapes");
            dispatch_8bit(out[0].dtype(), node, [&](auto t) {
              using T = decltype(t);
              const auto a = in[in_::a]->data<T>(), b = in[in_::b]->data<T>();
              if (wide) kernels::x86::qlinear_add_avx512<T>(p, a, b, out[0].data<T>());
              else if (fast) kernels::x86::qlinear_add_avx2<T>(p, a, b, out[0].data<T>());
              else kernels::qlinear_add<T>(p, a, b, out[0].data<T>());
            });
          },
          wide ? "x86-avx512" : (fast ? "x86-avx2" : "reference")};
}

PreparedOp prepare_qlinear_softmax(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  kernels::QSoftmaxParams p;
  p.x_scale = constant_scales(graph, node, 1).at(0);
  p.x_zp = constant_zero_points(graph, node, 2).at(0);
  p.y_scale = constant_scales(graph, node, 3).at(0);
  p.y_zp = constant_zero_points(graph, node, 4).at(0);
  std::tie(p.qmin, p.qmax) = range_of(graph.value(node.outputs[0]).dtype);
  p.tflite = options.requant == kernels::RequantMode::xnnpack;
  if (options.requant == kernels::RequantMode::tflite) {
    // TFLite's reference int8 softmax (TFLite Micro's): its output is fixed
    // at scale 1/256 from the type's minimum.
    if (p.y_scale != 1.0f / 256.0f || p.y_zp != p.qmin)
      fail(node, "TFLite's reference int8 softmax needs the output scale 1/256 and zero point " + std::to_string(p.qmin));
    try {
      kernels::set_reference_softmax(p, 1.0);
    } catch (const Error& e) {
      fail(node, e.what());
    }
  }
  const Shape& xs = graph.value(node.inputs[0]).shape;
  std::int64_t axis = node.attributes.count("axis") ? std::get<std::int64_t>(node.attributes.at("axis")) : -1;
  if (axis < 0) axis += static_cast<std::int64_t>(xs.size());
  if (axis != static_cast<std::int64_t>(xs.size()) - 1) fail(node, "tinyq's QLinearSoftmax normalizes the last axis only");
  const std::int64_t row = xs.back();
  return [p, node, row](std::span<const Tensor* const> in, std::span<Tensor> out) {
    dispatch_8bit(in[0]->dtype(), node, [&](auto t) {
      using T = decltype(t);
      kernels::qlinear_softmax<T>(p, row, in[0]->data<T>(), out[0].data<T>());
    });
  };
}

PreparedOp prepare_qlinear_global_average_pool(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const float x_scale = constant_scales(graph, node, 1).at(0);
  const std::int32_t x_zp = constant_zero_points(graph, node, 2).at(0);
  const float y_scale = constant_scales(graph, node, 3).at(0);
  const std::int32_t y_zp = constant_zero_points(graph, node, 4).at(0);
  const Shape& xs = graph.value(node.inputs[0]).shape;
  std::int64_t plane = 1;
  for (std::size_t i = 2; i < xs.size(); ++i) plane *= xs[i];
  // ONNX Runtime: x_scale / (y_scale * plane), in float.
  const float multiplier = x_scale / (y_scale * static_cast<float>(plane));
  auto requant = make_requantizer(node, {static_cast<double>(x_scale) / (static_cast<double>(y_scale) * plane)}, y_zp,
                                  graph.value(node.outputs[0]).dtype, options, {multiplier});
  const bool same_params = x_scale == y_scale && x_zp == y_zp;
  const bool tflite_modes = options.requant == kernels::RequantMode::tflite || options.requant == kernels::RequantMode::xnnpack;
  if (node.op_type == "QLinearReduceMean") {
    // TFLite's int8 MEAN: its runtime hands it to XNNPACK, which rescales the
    // sum in fp32 (the float rule, ties to even) whatever the parameters; its
    // reference kernel (TFLite Micro's) rescales the sum of x - x_zp with a
    // fixed-point multiplier and then divides by the count.
    if (options.requant == kernels::RequantMode::xnnpack) requant.mode = kernels::RequantMode::float_multiplier;
    if (options.requant == kernels::RequantMode::tflite) {
      if (node.attr_int("keepdims", 1) == 0)
        fail(node, "TFLite's reference int8 MEAN without keep_dims is not implemented (--requant xnnpack computes what TFLite's runtime does)");
      kernels::FixedMultiplier m;
      try {
        m = kernels::to_fixed_multiplier(static_cast<double>(x_scale) / static_cast<double>(y_scale));
      } catch (const Error& e) {
        fail(node, e.what());
      }
      return [=](std::span<const Tensor* const> in, std::span<Tensor> out) {
        dispatch_8bit(in[0]->dtype(), node, [&](auto t) {
          using T = decltype(t);
          kernels::tflite_reference_mean<T>(xs[1] * in[0]->shape()[0], plane, in[0]->data<T>(), x_zp, m, y_zp, out[0].data<T>());
        });
      };
    }
  } else if (tflite_modes && !same_params) {
    fail(node, "TFLite's integer average pooling needs equal input and output scales and zero points");
  }
  // The float and fixed-point rules (what ONNX Runtime computes): vector sums,
  // then the reference's requantization of each sum.
  if (kernels::use_avx2(options.kernels) && (requant.mode == kernels::RequantMode::float_multiplier ||
                                             requant.mode == kernels::RequantMode::fixed_point))
    return {[=](std::span<const Tensor* const> in, std::span<Tensor> out) {
              dispatch_8bit(in[0]->dtype(), node, [&](auto t) {
                using T = decltype(t);
                const std::int64_t planes = xs[1] * in[0]->shape()[0];
                thread_local std::vector<std::int32_t> sums;
                sums.resize(static_cast<std::size_t>(planes));
                kernels::x86::plane_sums_avx2<T>(planes, plane, in[0]->data<T>(), sums);
                auto y = out[0].data<T>();
                for (std::int64_t i = 0; i < planes; ++i)
                  y[i] = static_cast<T>(requant.apply(sums[i] - x_zp * static_cast<std::int32_t>(plane), 0));
              });
            },
            "x86-avx2"};
  return [=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    dispatch_8bit(in[0]->dtype(), node, [&](auto t) {
      using T = decltype(t);
      kernels::qlinear_global_average_pool<T>(xs[1] * in[0]->shape()[0], plane, in[0]->data<T>(), x_zp, requant, out[0].data<T>());
    });
  };
}

PreparedOp prepare_qlinear_average_pool(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  if (node.attr_int("channels_last", 0) != 0) fail(node, "channels_last=1 is not supported");
  kernels::QAveragePoolParams q;
  q.pool = pool_geometry(node);
  q.x_scale = constant_scales(graph, node, 1).at(0);
  q.x_zero_point = constant_zero_points(graph, node, 2).at(0);
  q.y_scale = constant_scales(graph, node, 3).at(0);
  q.y_zero_point = constant_zero_points(graph, node, 4).at(0);
  q.tflite = options.requant == kernels::RequantMode::tflite || options.requant == kernels::RequantMode::xnnpack;
  if (q.tflite && (q.x_scale != q.y_scale || q.x_zero_point != q.y_zero_point))
    fail(node, "TFLite's integer average pooling needs equal input and output scales and zero points");
  const bool fast = kernels::use_avx2(options.kernels) && !q.tflite;  // ONNX Runtime's rule only
  return {[=](std::span<const Tensor* const> in, std::span<Tensor> out) {
            auto p = q;
            pool_sizes(p.pool, *in[0], out[0]);
            dispatch_8bit(in[0]->dtype(), node, [&](auto t) {
              using T = decltype(t);
              if (fast) kernels::x86::qlinear_average_pool2d_avx2<T>(p, in[0]->data<T>(), out[0].data<T>());
              else kernels::qlinear_average_pool2d<T>(p, in[0]->data<T>(), out[0].data<T>());
            });
          },
          fast ? "x86-avx2" : "reference"};
}

}  // namespace tinyq::runtime::ops
