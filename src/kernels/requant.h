#pragma once
// The one requantization routine of tinyq: an int32 accumulator (already
// holding the bias) becomes an 8-bit output. Two modes:
//
//  float  ONNX Runtime's CPU rule (MLAS MlasRequantizeOutput): the multiplier
//         M = x_scale * w_scale / y_scale is computed in float in that order,
//         the accumulator is converted to float and multiplied by M, clamped
//         to [qmin - zp, qmax - zp], rounded half to even, and zp is added.
//  fixed  Integer-only, what hardware builds (TFLite's single-rounding
//         MultiplyByQuantizedMultiplier): M is represented as M0 * 2^-n with
//         M0 an int32 in [2^30, 2^31); y = (acc * M0 + 2^(n-1)) >> n in 64-bit
//         arithmetic (round half up, toward +inf), then + zp and saturation.
//  tflite TensorFlow Lite's reference integer kernels (gemmlowp's double
//         rounding, the default TFLite build): the same M0 and exponent
//         e = 31 - n; x = acc * 2^max(e, 0), then SaturatingRoundingDoublingHighMul
//         (x * M0 / 2^31 to nearest, ties toward +infinity), then
//         RoundingDivideByPOT by max(-e, 0) (ties away from zero), + zp and
//         saturation. Two roundings: a value just under .5 can end up rounded up.
//  xnnpack What TensorFlow Lite's runtime computes with its default XNNPACK
//         delegate: convolutions and fully connected layers as `float`
//         above (XNNPACK's fp32 requantization is the same rule), additions
//         with XNNPACK's own 20-bit multipliers (kernels/reference/quantized.h).
//
// docs/quantization.md derives both and lists the edge cases.
#include <cmath>
#include <cstdint>

namespace tinyq::kernels {

enum class RequantMode { float_multiplier, fixed_point, tflite, xnnpack };

struct FixedMultiplier {
  std::int32_t m0 = 0;  // in [2^30, 2^31), or 0 for a zero multiplier
  int shift = 0;        // n: the multiplier is m0 * 2^-n; 1 <= n <= 62
};

// M0 and n for a positive real multiplier (computed in double). Multipliers
// below 2^-31 (n > 62) become 0; multipliers >= 2^30 are rejected (no 8-bit
// model has them). Throws Error on a non-finite or negative value.
FixedMultiplier to_fixed_multiplier(double real_multiplier);
double from_fixed_multiplier(const FixedMultiplier& m);

inline std::int32_t saturate(std::int32_t v, std::int32_t qmin, std::int32_t qmax) {
  return v < qmin ? qmin : (v > qmax ? qmax : v);
}

// ONNX Runtime's float requantization (see above). nearbyint rounds half to
// even under the default floating-point environment, as cvtps2dq does.
inline std::int32_t requantize_float(std::int32_t acc, float multiplier, std::int32_t zero_point, std::int32_t qmin,
                                     std::int32_t qmax) {
  float v = static_cast<float>(acc) * multiplier;
  const float lo = static_cast<float>(qmin - zero_point), hi = static_cast<float>(qmax - zero_point);
  v = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<std::int32_t>(std::nearbyint(v)) + zero_point;
}

inline std::int32_t requantize_fixed(std::int32_t acc, const FixedMultiplier& m, std::int32_t zero_point,
                                     std::int32_t qmin, std::int32_t qmax) {
  if (m.m0 == 0) return saturate(zero_point, qmin, qmax);
  const std::int64_t product = static_cast<std::int64_t>(acc) * m.m0;
  // Arithmetic right shift of a two's-complement value floors, so adding half
  // first rounds half up. |acc * M0| < 2^62, so the sum cannot overflow.
  const std::int64_t scaled = (product + (std::int64_t{1} << (m.shift - 1))) >> m.shift;
  const std::int64_t y = scaled + zero_point;
  return static_cast<std::int32_t>(y < qmin ? qmin : (y > qmax ? qmax : y));
}

// gemmlowp's fixed-point primitives, as TFLite's reference kernels use them.
// a * b / 2^31 rounded to nearest with ties toward +infinity (the nudge is
// +2^30 for a non-negative product, 1 - 2^30 for a negative one, then C++
// division truncates); the one overflowing case (both INT32_MIN) saturates.
inline std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const std::int64_t ab = static_cast<std::int64_t>(a) * b;
  const std::int64_t nudge = ab >= 0 ? (std::int64_t{1} << 30) : 1 - (std::int64_t{1} << 30);
  return static_cast<std::int32_t>((ab + nudge) / (std::int64_t{1} << 31));  // C++ division truncates toward zero
}

// x / 2^exponent rounded to nearest, ties away from zero (0 <= exponent <= 31).
inline std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
  const std::int64_t mask = (std::int64_t{1} << exponent) - 1;
  const std::int64_t remainder = x & mask;
  const std::int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<std::int32_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}

// TFLite's MultiplyByQuantizedMultiplier(x, M0, e) with e = 31 - n.
inline std::int32_t multiply_by_quantized_multiplier(std::int32_t x, const FixedMultiplier& m) {
  const int exponent = 31 - m.shift;
  const int left = exponent > 0 ? exponent : 0, right = exponent > 0 ? 0 : -exponent;
  // TFLite shifts in 32 bits; multipliers above 1 (left > 0) do not occur in 8-bit models.
  const auto shifted = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << left);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m.m0), right);
}

inline std::int32_t requantize_tflite(std::int32_t acc, const FixedMultiplier& m, std::int32_t zero_point,
                                      std::int32_t qmin, std::int32_t qmax) {
  if (m.m0 == 0) return saturate(zero_point, qmin, qmax);
  const std::int64_t y = static_cast<std::int64_t>(multiply_by_quantized_multiplier(acc, m)) + zero_point;
  return static_cast<std::int32_t>(y < qmin ? qmin : (y > qmax ? qmax : y));
}

}  // namespace tinyq::kernels
