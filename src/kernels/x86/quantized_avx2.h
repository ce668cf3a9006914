#pragma once
// AVX2 versions of the element-wise quantized kernels in
// kernels/reference/quantized.h, bit for bit equal to them (tested in
// tests/unit/fast_kernels_test.cpp). Compiled with -mavx2 -mfma: call only
// when cpu_features().avx2 is true.
#include <cstdint>
#include <span>

#include "kernels/reference/quantized.h"

namespace tinyq::kernels::x86 {

// QuantizeLinear, T = u8 or s8.
template <typename T>
void quantize_linear_avx2(std::span<const float> x, float scale, std::int32_t zero_point, std::span<T> y);

// DequantizeLinear, as kernels::dequantize_linear: y = float(x - zp) * scale,
// per tensor or per channel (`inner` consecutive values share a channel of
// `axis_size`). T = u8, s8 or s32.
template <typename T>
void dequantize_linear_avx2(std::span<const T> x, std::span<const float> scales, std::span<const std::int32_t> zero_points,
                            std::int64_t axis_size, std::int64_t inner, std::span<float> y);

// QLinearAdd, both requantization modes. Fixed mode runs here when its
// multipliers fit the 32-bit lanes (qlinear_add_fixed_fits_avx2); otherwise
// the caller uses the reference kernel.
// The fixed-point form of QLinearAdd, as the reference computes it: both
// ratios share one shift chosen so that the larger fits 31 bits. (Plain
// scalar code; shared with quantized_avx512.)
struct AddFixed {
  std::int64_t ma = 0, mb = 0;
  int shift = 0;
};
AddFixed qlinear_add_fixed_multipliers(const QAddParams& p);

// The float form, as the reference computes it: y = a * ratio_a + (b * ratio_b
// + offset), each step a fused multiply-add.
struct AddFloat {
  float ratio_a = 0, ratio_b = 0, offset = 0;
};
AddFloat qlinear_add_float_form(const QAddParams& p);

template <typename T>
void qlinear_add_avx2(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c);
bool qlinear_add_fixed_fits_avx2(const QAddParams& p);

}  // namespace tinyq::kernels::x86
