#pragma once
// Integer reference kernels for the ONNX quantized operators. Accumulation is
// exact int32; turning an accumulator into an 8-bit value always goes through
// quant/requant.h (one rule, two modes). Kernels take element types as
// template parameters: u8 or s8 activations and weights.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/reference/conv.h"
#include "kernels/reference/pool.h"
#include "kernels/requant.h"

namespace tinyq::kernels {

// Per-output-channel requantization, prepared once per node.
struct Requantizer {
  kernels::RequantMode mode = kernels::RequantMode::float_multiplier;
  std::vector<float> multipliers;                 // float mode: one, or one per channel
  std::vector<kernels::FixedMultiplier> fixed;      // fixed and tflite modes: same count
  std::int32_t zero_point = 0, qmin = 0, qmax = 255;

  std::int32_t apply(std::int32_t acc, std::size_t channel) const {
    const std::size_t i = multipliers.size() > 1 ? channel : 0;
    switch (mode) {
      case kernels::RequantMode::float_multiplier:
      case kernels::RequantMode::xnnpack: return kernels::requantize_float(acc, multipliers[i], zero_point, qmin, qmax);
      case kernels::RequantMode::fixed_point: return kernels::requantize_fixed(acc, fixed[i], zero_point, qmin, qmax);
      case kernels::RequantMode::tflite: break;
    }
    return kernels::requantize_tflite(acc, fixed[i], zero_point, qmin, qmax);
  }
};

// QuantizeLinear: saturate(round_half_even(x / scale) + zero_point), with the
// division ONNX Runtime uses (not a multiplication by 1/scale).
template <typename T>
void quantize_linear(std::span<const float> x, float scale, std::int32_t zero_point, std::span<T> y);
// DequantizeLinear: (x - zero_point) * scale in float. `channel_of(i)` selects
// per-axis parameters; scales/zero_points have one entry per channel.
template <typename T>
void dequantize_linear(std::span<const T> x, std::span<const float> scales, std::span<const std::int32_t> zero_points,
                       std::int64_t axis_size, std::int64_t inner, std::span<float> y);

// QLinearConv's integer core: acc = bias[oc] + sum (x - x_zp) * (w - w_zp[oc]).
// Padding contributes nothing, exactly as padding with x_zp does.
template <typename TX, typename TW>
void qlinear_conv_accumulate(const Conv2DParams& p, std::span<const TX> x, std::int32_t x_zero_point,
                             std::span<const TW> w, std::span<const std::int32_t> w_zero_points,
                             std::span<const std::int32_t> bias, std::span<std::int32_t> acc);

// y[n, c, ...] = requantizer.apply(acc[n, c, ...], c) over [batch, channels, plane].
template <typename TY>
void requantize_channels(std::int64_t batch, std::int64_t channels, std::int64_t plane,
                         std::span<const std::int32_t> acc, const Requantizer& r, std::span<TY> y);

// QLinearMatMul's integer core: A [M, K] x B [K, N] with zero points; per-column B zero points.
template <typename TA, typename TB>
void qlinear_matmul_accumulate(std::int64_t m, std::int64_t n, std::int64_t k, std::span<const TA> a, std::int32_t a_zp,
                               std::span<const TB> b, std::span<const std::int32_t> b_zp, std::span<std::int32_t> acc);

// com.microsoft QLinearAdd (same shapes). Float mode follows ONNX Runtime's
// AVX2 kernel: v = fma(a, sa/sc, fma(b, sb/sc, zc - (sa/sc*za + sb/sc*zb))),
// rounded half to even and saturated. Fixed mode: see quant/requant.h.
// tflite mode: TFLite's reference ADD (20-bit left shift, three gemmlowp
// multiplies). xnnpack mode: XNNPACK's qs8 add: ratios sa/sc, sb/sc in float,
// shift = 20 - exponent of the larger, multipliers round(ratio * 2^shift),
// y = (2^(shift-1) - ma*za - mb*zb + a*ma + b*mb) >> shift (arithmetic), clamped, + zc.
struct QAddParams {
  float a_scale = 1, b_scale = 1, c_scale = 1;
  std::int32_t a_zp = 0, b_zp = 0, c_zp = 0, qmin = 0, qmax = 255;
  kernels::RequantMode mode = kernels::RequantMode::float_multiplier;
};
template <typename T>
void qlinear_add(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c);

// com.microsoft QLinearGlobalAveragePool (NCHW): acc = sum(x) - x_zp * plane,
// multiplier = x_scale / (y_scale * plane) in float, then the requantizer.
template <typename T>
void qlinear_global_average_pool(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x,
                                 std::int32_t x_zp, const Requantizer& r, std::span<T> y);

// com.microsoft QLinearSoftmax over the last axis of rows of `row` values.
// tflite: TensorFlow Lite's optimized int8 kernel, which its runtime runs: a
// 256-entry float table exp(-x_scale * d) for d = max - x (expf, float
// arithmetic), the row sum in float in index order, p = table * (1 / (sum *
// y_scale)), rounded half away from zero, + y_zp, saturated. Otherwise ONNX
// semantics: DequantizeLinear, Softmax in float, QuantizeLinear.
struct QSoftmaxParams {
  float x_scale = 1, y_scale = 1;
  std::int32_t x_zp = 0, y_zp = 0, qmin = 0, qmax = 255;
  bool tflite = false;  // TFLite's runtime: a 256-entry float exp table (its optimized int8 kernel)
  // TFLite's reference int8 kernel (what TFLite Micro runs): the input
  // difference to the row maximum scaled to Q5.26 by beta_multiplier and
  // beta_left_shift, gemmlowp's fixed-point exp, a Q12.19 sum, its
  // reciprocal; differences below diff_min give 0. Set by set_reference_softmax().
  bool reference = false;
  std::int32_t beta_multiplier = 0, diff_min = 0;
  int beta_left_shift = 0;
};
// TFLite's PreprocessSoftmaxScaling and CalculateInputRadius for Q5.26 input
// differences (in double, as TFLite computes them). Throws Error when the
// input scale is too small for the multiplier's left shift.
void set_reference_softmax(QSoftmaxParams& p, double beta);
template <typename T>
void qlinear_softmax(const QSoftmaxParams& p, std::int64_t row, std::span<const T> x, std::span<T> y);

// TFLite's reference int8 MEAN over height and width with keep_dims (what
// TFLite Micro runs): the sum of (x - x_zp) times the multiplier x_scale / y_scale
// (MultiplyByQuantizedMultiplier, gemmlowp's two roundings), divided by the
// count with ties away from zero, plus y_zp, saturated.
template <typename T>
void tflite_reference_mean(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x, std::int32_t x_zp,
                           const FixedMultiplier& multiplier, std::int32_t y_zp, std::span<T> y);

// MaxPool on quantized values: the maximum of integers is the maximum of the
// values they stand for (positive scale), so no requantization is involved.
template <typename T>
void max_pool2d_quantized(const Pool2DParams& p, std::span<const T> x, std::span<T> y);

// com.microsoft QLinearAveragePool over windows (NCHW). TFLite modes: its
// int8 AVERAGE_POOL_2D (input and output share scale and zero point): the
// sum of the stored values over the window's in-bounds part, divided by their
// count, rounded to nearest with ties away from zero. Float mode (ONNX
// Runtime's form): the window average of the dequantized values in float,
// quantized to the output (ties to even).
struct QAveragePoolParams {
  Pool2DParams pool;
  float x_scale = 1, y_scale = 1;
  std::int32_t x_zero_point = 0, y_zero_point = 0;
  bool tflite = false;
};
template <typename T>
void qlinear_average_pool2d(const QAveragePoolParams& p, std::span<const T> x, std::span<T> y);

}  // namespace tinyq::kernels
