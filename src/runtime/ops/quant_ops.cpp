// The integer engine's ops: prepare reads scales and zero points once,
// computes the requantization multipliers (float in ONNX Runtime's order, or
// fixed-point) and picks the kernel for the element types.
#include <cmath>
#include <cstdint>
#include <tuple>

#include "ir/shape_inference.h"

#include "core/error.h"
#include "kernels/reference/quantized.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& what) {
  throw Error("node '" + node.name + "' (" + node.op_type + "): " + what);
}

std::vector<float> scales_of(const ir::Graph& graph, const ir::Node& node, std::size_t index) {
  const Tensor& t = constant_input(graph, node, index, "scale");
  if (t.dtype() != DType::f32) fail(node, "scale must be f32");
  auto d = t.data<float>();
  for (float s : d)
    if (!(s > 0.f) || !std::isfinite(s)) fail(node, "scale " + std::to_string(s) + " is not a finite positive number");
  return {d.begin(), d.end()};
}

// Zero points as int32; an omitted zero point is 0 of `fallback_count` entries.
std::vector<std::int32_t> zero_points_of(const ir::Graph& graph, const ir::Node& node, std::size_t index) {
  if (index >= node.inputs.size() || !node.inputs[index].valid()) return {0};
  const Tensor& t = constant_input(graph, node, index, "zero point");
  std::vector<std::int32_t> out;
  switch (t.dtype()) {
    case DType::u8: for (auto v : t.data<std::uint8_t>()) out.push_back(v); break;
    case DType::s8: for (auto v : t.data<std::int8_t>()) out.push_back(v); break;
    case DType::s32: for (auto v : t.data<std::int32_t>()) out.push_back(v); break;
    default: fail(node, "zero point must be u8, s8 or s32");
  }
  return out;
}

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
      r.fixed.push_back(quant::to_fixed_multiplier(m));
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

}  // namespace

RunFn prepare_quantize_linear(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  const auto scales = scales_of(graph, node, 1);
  const auto zps = zero_points_of(graph, node, 2);
  if (scales.size() != 1 || zps.size() != 1) fail(node, "tinyq quantizes activations per tensor only");
  const float scale = scales[0];
  const std::int32_t zp = zps[0];
  return [scale, zp](std::span<const Tensor* const> in, std::span<Tensor> out) {
    switch (out[0].dtype()) {
      case DType::u8: kernels::quantize_linear(in[0]->data<float>(), scale, zp, out[0].data<std::uint8_t>()); break;
      case DType::s8: kernels::quantize_linear(in[0]->data<float>(), scale, zp, out[0].data<std::int8_t>()); break;
      default: kernels::quantize_linear(in[0]->data<float>(), scale, zp, out[0].data<std::int32_t>()); break;
    }
  };
}

RunFn prepare_dequantize_linear(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  const auto scales = scales_of(graph, node, 1);
  auto zps = zero_points_of(graph, node, 2);
  if (zps.size() == 1 && scales.size() > 1) zps.assign(scales.size(), zps[0]);
  if (zps.size() != scales.size()) fail(node, "scale and zero point sizes differ");
  const std::int64_t axis_attr = node.attr_int("axis", 1);
  return [scales, zps, axis_attr](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const auto& s = in[0]->shape();
    std::int64_t axis_size = 1, inner = 1;
    if (scales.size() > 1) {
      const auto axis = static_cast<std::size_t>(axis_attr < 0 ? axis_attr + static_cast<std::int64_t>(s.size()) : axis_attr);
      axis_size = s[axis];
      for (std::size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
    }
    auto y = out[0].data<float>();
    switch (in[0]->dtype()) {
      case DType::u8: kernels::dequantize_linear(in[0]->data<std::uint8_t>(), scales, zps, axis_size, inner, y); break;
      case DType::s8: kernels::dequantize_linear(in[0]->data<std::int8_t>(), scales, zps, axis_size, inner, y); break;
      case DType::s32: kernels::dequantize_linear(in[0]->data<std::int32_t>(), scales, zps, axis_size, inner, y); break;
      default: throw Error("DequantizeLinear: unsupported input type");
    }
  };
}

RunFn prepare_qlinear_conv(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const float x_scale = scales_of(graph, node, 1).at(0);
  const std::int32_t x_zp = zero_points_of(graph, node, 2).at(0);
  const auto w_scales = scales_of(graph, node, 4);
  const auto w_zps = zero_points_of(graph, node, 5);
  const float y_scale = scales_of(graph, node, 6).at(0);
  const std::int32_t y_zp = zero_points_of(graph, node, 7).at(0);
  // ONNX Runtime computes x_scale * w_scale / y_scale in float, left to right.
  std::vector<float> multipliers;
  std::vector<double> real;
  for (float ws : w_scales) {
    multipliers.push_back(x_scale * ws / y_scale);
    real.push_back(static_cast<double>(x_scale) * ws / y_scale);
  }
  const DType out_type = graph.value(node.outputs[0]).dtype;
  const auto requant = make_requantizer(node, real, y_zp, out_type, options, multipliers);
  // The float conv's run function shares the geometry code: reuse its params.
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto dilations = node.attr_ints("dilations", {1, 1});
  const auto pads = ir::spatial_pads(node, 2);
  kernels::Conv2DParams base;
  base.stride_h = strides[0], base.stride_w = strides[1];
  base.dilation_h = dilations[0], base.dilation_w = dilations[1];
  base.pad_top = pads[0], base.pad_left = pads[1];
  base.group = node.attr_int("group", 1);
  if (graph.value(node.inputs[3]).shape.size() != 4) fail(node, "tinyq runs 2-D convolutions only");
  return [=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::Conv2DParams p = base;
    const auto& xs = in[0]->shape();
    const auto& ws = in[3]->shape();
    const auto& ys = out[0].shape();
    p.batch = xs[0], p.in_channels = xs[1], p.in_h = xs[2], p.in_w = xs[3];
    p.out_channels = ys[1], p.out_h = ys[2], p.out_w = ys[3];
    p.kernel_h = ws[2], p.kernel_w = ws[3];
    std::vector<std::int32_t> acc(out[0].element_count());
    const std::span<const std::int32_t> bias =
        in.size() > 8 && in[8] ? in[8]->data<std::int32_t>() : std::span<const std::int32_t>{};
    dispatch_8bit(in[0]->dtype(), node, [&](auto x_type) {
      using TX = decltype(x_type);
      dispatch_8bit(in[3]->dtype(), node, [&](auto w_type) {
        using TW = decltype(w_type);
        if constexpr (std::is_same_v<TX, std::int8_t> && std::is_same_v<TW, std::uint8_t>) {
          fail(node, "s8 activations with u8 weights are not supported (ONNX Runtime has no such kernel either)");
        } else {
          kernels::qlinear_conv_accumulate<TX, TW>(p, in[0]->data<TX>(), x_zp, in[3]->data<TW>(), w_zps, bias, acc);
        }
      });
    });
    dispatch_8bit(out[0].dtype(), node, [&](auto y_type) {
      using TY = decltype(y_type);
      kernels::requantize_channels<TY>(p.batch, p.out_channels, p.out_h * p.out_w, acc, requant, out[0].data<TY>());
    });
  };
}

RunFn prepare_qlinear_matmul(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const float a_scale = scales_of(graph, node, 1).at(0);
  const std::int32_t a_zp = zero_points_of(graph, node, 2).at(0);
  const auto b_scales = scales_of(graph, node, 4);
  const auto b_zps = zero_points_of(graph, node, 5);
  const float y_scale = scales_of(graph, node, 6).at(0);
  const std::int32_t y_zp = zero_points_of(graph, node, 7).at(0);
  std::vector<float> multipliers;
  std::vector<double> real;
  for (float bs : b_scales) {
    multipliers.push_back(a_scale * bs / y_scale);
    real.push_back(static_cast<double>(a_scale) * bs / y_scale);
  }
  const auto requant = make_requantizer(node, real, y_zp, graph.value(node.outputs[0]).dtype, options, multipliers);
  return [=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const std::int64_t k = in[3]->shape()[0], n = in[3]->shape()[1];
    const std::int64_t m = static_cast<std::int64_t>(in[0]->element_count()) / k;
    std::vector<std::int32_t> acc(out[0].element_count());
    dispatch_8bit(in[0]->dtype(), node, [&](auto a_type) {
      using TA = decltype(a_type);
      dispatch_8bit(in[3]->dtype(), node, [&](auto b_type) {
        using TB = decltype(b_type);
        if constexpr (std::is_same_v<TA, std::int8_t> && std::is_same_v<TB, std::uint8_t>) {
          fail(node, "s8 activations with u8 weights are not supported");
        } else {
          kernels::qlinear_matmul_accumulate<TA, TB>(m, n, k, in[0]->data<TA>(), a_zp, in[3]->data<TB>(), b_zps, acc);
        }
      });
    });
    // Per-column requantization: columns are the "channels" of a [m, n] matrix.
    dispatch_8bit(out[0].dtype(), node, [&](auto y_type) {
      using TY = decltype(y_type);
      auto y = out[0].data<TY>();
      for (std::int64_t i = 0; i < m * n; ++i) y[i] = static_cast<TY>(requant.apply(acc[i], static_cast<std::size_t>(i % n)));
    });
  };
}

RunFn prepare_qlinear_add(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  kernels::QAddParams p;
  p.a_scale = scales_of(graph, node, 1).at(0);
  p.a_zp = zero_points_of(graph, node, 2).at(0);
  p.b_scale = scales_of(graph, node, 4).at(0);
  p.b_zp = zero_points_of(graph, node, 5).at(0);
  p.c_scale = scales_of(graph, node, 6).at(0);
  p.c_zp = zero_points_of(graph, node, 7).at(0);
  p.mode = options.requant;
  std::tie(p.qmin, p.qmax) = range_of(graph.value(node.outputs[0]).dtype);
  return [p, node](std::span<const Tensor* const> in, std::span<Tensor> out) {
    if (in[0]->shape() != in[3]->shape()) fail(node, "tinyq's QLinearAdd needs equal input shapes");
    dispatch_8bit(out[0].dtype(), node, [&](auto t) {
      using T = decltype(t);
      kernels::qlinear_add<T>(p, in[0]->data<T>(), in[3]->data<T>(), out[0].data<T>());
    });
  };
}

RunFn prepare_qlinear_global_average_pool(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const float x_scale = scales_of(graph, node, 1).at(0);
  const std::int32_t x_zp = zero_points_of(graph, node, 2).at(0);
  const float y_scale = scales_of(graph, node, 3).at(0);
  const std::int32_t y_zp = zero_points_of(graph, node, 4).at(0);
  const Shape& xs = graph.value(node.inputs[0]).shape;
  std::int64_t plane = 1;
  for (std::size_t i = 2; i < xs.size(); ++i) plane *= xs[i];
  // ONNX Runtime: x_scale / (y_scale * plane), in float.
  const float multiplier = x_scale / (y_scale * static_cast<float>(plane));
  const auto requant = make_requantizer(node, {static_cast<double>(x_scale) / (static_cast<double>(y_scale) * plane)}, y_zp,
                                        graph.value(node.outputs[0]).dtype, options, {multiplier});
  return [=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    dispatch_8bit(in[0]->dtype(), node, [&](auto t) {
      using T = decltype(t);
      kernels::qlinear_global_average_pool<T>(xs[1] * in[0]->shape()[0], plane, in[0]->data<T>(), x_zp, requant, out[0].data<T>());
    });
  };
}

}  // namespace tinyq::runtime::ops
