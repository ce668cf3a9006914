#include "quant/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace tinyq::quant {

namespace {
void check_bits(int bits) {
  if (bits < 2 || bits > 8) throw Error("bits must be 2..8, not " + std::to_string(bits));
}
}  // namespace

IntRange type_int_range(DType dtype) { return dtype == DType::u8 ? IntRange{0, 255} : IntRange{-128, 127}; }

IntRange activation_int_range(DType dtype, bool reduce_range, int bits) {
  check_bits(bits);
  if (bits < 8) return dtype == DType::u8 ? IntRange{0, (1 << bits) - 1} : IntRange{-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  if (dtype == DType::u8) return reduce_range ? IntRange{0, 127} : IntRange{0, 255};
  return reduce_range ? IntRange{-64, 63} : IntRange{-128, 127};
}

IntRange weight_int_range(DType dtype, bool reduce_range, int bits) {
  check_bits(bits);
  if (bits < 8) return dtype == DType::u8 ? IntRange{0, (1 << bits) - 1} : IntRange{-((1 << (bits - 1)) - 1), (1 << (bits - 1)) - 1};
  if (dtype == DType::u8) return reduce_range ? IntRange{0, 127} : IntRange{0, 255};
  return reduce_range ? IntRange{-63, 63} : IntRange{-127, 127};
}

QuantParams params_for_range(Range range, DType dtype, IntRange ints, bool symmetric) {
  if (!std::isfinite(range.min) || !std::isfinite(range.max) || range.min > range.max)
    throw Error("invalid quantization range [" + std::to_string(range.min) + ", " + std::to_string(range.max) + "]");
  const double lo = std::min<double>(range.min, 0.0), hi = std::max<double>(range.max, 0.0);
  QuantParams p{dtype, {}, {}};
  const auto levels = static_cast<double>(ints.qmax - ints.qmin);
  double scale;
  std::int32_t zero_point;
  if (symmetric) {
    const double absmax = std::max(-lo, hi);
    scale = absmax / (levels / 2.0);
    // u8 symmetric centres on the middle code (128), s8 on 0.
    zero_point = dtype == DType::u8 ? (ints.qmin + ints.qmax + 1) / 2 : 0;
  } else {
    scale = (hi - lo) / levels;
    zero_point = scale > 0 ? static_cast<std::int32_t>(std::nearbyint(ints.qmin - lo / scale)) : 0;
    zero_point = std::clamp(zero_point, ints.qmin, ints.qmax);
  }
  if (!(scale >= 1e-30) || !std::isfinite(scale)) {  // a constant-zero tensor: any scale represents it exactly
    scale = 1.0;
    zero_point = std::clamp(dtype == DType::u8 && symmetric ? 128 : 0, ints.qmin, ints.qmax);
  }
  p.scales.push_back(static_cast<float>(scale));
  p.zero_points.push_back(zero_point);
  return p;
}

QuantParams weight_params(const Tensor& weight, DType dtype, bool per_channel, bool reduce_range, int bits) {
  const IntRange ints = weight_int_range(dtype, reduce_range, bits);
  const auto w = weight.data<float>();
  const std::size_t channels = per_channel ? static_cast<std::size_t>(weight.shape()[0]) : 1;
  const std::size_t per = w.size() / channels;
  // s8 weights are symmetric; u8 weights asymmetric per tensor, and symmetric
  // around 128 per channel (ONNX Runtime needs one zero point for all channels).
  const bool symmetric = dtype == DType::s8 || per_channel;
  QuantParams all{dtype, {}, {}};
  for (std::size_t c = 0; c < channels; ++c) {
    Range r{std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
    for (std::size_t i = c * per; i < (c + 1) * per; ++i) {
      if (!std::isfinite(w[i])) throw Error("weight holds NaN or Inf");
      r.min = std::min(r.min, w[i]), r.max = std::max(r.max, w[i]);
    }
    const QuantParams one = params_for_range(r, dtype, ints, symmetric);
    all.scales.push_back(one.scales[0]);
    all.zero_points.push_back(one.zero_points[0]);
  }
  return all;
}

Tensor quantize_weight(const Tensor& weight, const QuantParams& params) {
  Tensor q(params.dtype, weight.shape());
  const auto w = weight.data<float>();
  const std::size_t per = w.size() / params.scales.size();
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::size_t c = i / per;
    const auto lo = params.dtype == DType::u8 ? 0 : -128, hi = params.dtype == DType::u8 ? 255 : 127;
    const auto v = std::clamp(static_cast<std::int32_t>(std::nearbyint(w[i] / params.scales[c])) + params.zero_points[c], lo, hi);
    if (params.dtype == DType::u8) q.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(v);
    else q.data<std::int8_t>()[i] = static_cast<std::int8_t>(v);
  }
  return q;
}

Tensor dequantize_weight(const Tensor& quantized, const QuantParams& params) {
  Tensor w(DType::f32, quantized.shape());
  const auto out = w.data<float>();
  const std::size_t per = out.size() / params.scales.size();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t c = i / per;
    const std::int32_t q = params.dtype == DType::u8 ? quantized.data<std::uint8_t>()[i] : quantized.data<std::int8_t>()[i];
    out[i] = params.scales[c] * static_cast<float>(q - params.zero_points[c]);
  }
  return w;
}

Tensor quantize_bias(const Tensor& bias, float x_scale, const std::vector<float>& w_scales) {
  const auto b = bias.data<float>();
  Tensor q(DType::s32, bias.shape());
  for (std::size_t c = 0; c < b.size(); ++c) {
    const float scale = x_scale * w_scales[w_scales.size() > 1 ? c : 0];
    const double v = std::nearbyint(static_cast<double>(b[c]) / scale);
    q.data<std::int32_t>()[c] = static_cast<std::int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
  }
  return q;
}

}  // namespace tinyq::quant
