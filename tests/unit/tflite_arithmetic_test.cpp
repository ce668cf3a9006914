// TFLite's integer arithmetic, checked against values worked out by hand from
// the formulas of TFLite's reference kernels (gemmlowp's fixed point, the int8
// ADD, average pooling, the table softmax) and from XNNPACK's add.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/reference/gemmlowp_fixed_point.h"
#include "kernels/reference/quantized.h"
#include "kernels/requant.h"

namespace tinyq::kernels {
namespace {

TEST(TfliteArithmetic, RoundingDoublingHighMul) {
  // 0.5 * 0.5 in Q31 is 0.25: 2^30 * 2^30 / 2^31 = 2^29 exactly.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
  // 1 * 2^30 / 2^31 = 0.5 rounds up to 1; -0.5 rounds up to 0; 2.5 -> 3; -2.5 -> -2.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(5, 1 << 30), 3);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2);
  // The one overflow: (-1) * (-1) in Q31 saturates to the largest value.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
}

TEST(TfliteArithmetic, RoundingDivideByPowerOfTwoTiesAwayFromZero) {
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // -2.5
  EXPECT_EQ(rounding_divide_by_pot(-3, 1), -2);  // -1.5
  EXPECT_EQ(rounding_divide_by_pot(-1, 1), -1);  // -0.5
  EXPECT_EQ(rounding_divide_by_pot(6, 2), 2);    // 1.5
  EXPECT_EQ(rounding_divide_by_pot(-6, 2), -2);  // -1.5
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);  // -1.75
  EXPECT_EQ(rounding_divide_by_pot(-5, 2), -1);  // -1.25
  EXPECT_EQ(rounding_divide_by_pot(7, 0), 7);
}

TEST(TfliteArithmetic, QuantizedMultiplierAsTfliteComputesIt) {
  // 0.25 = 0.5 * 2^-1: M0 = 2^30, exponent -1 (n = 32).
  const FixedMultiplier quarter = to_fixed_multiplier(0.25);
  EXPECT_EQ(quarter.m0, 1 << 30);
  EXPECT_EQ(31 - quarter.shift, -1);
  EXPECT_EQ(multiply_by_quantized_multiplier(3, quarter), 1);    // 0.75
  EXPECT_EQ(multiply_by_quantized_multiplier(2, quarter), 1);    // 0.5, away from zero
  EXPECT_EQ(multiply_by_quantized_multiplier(-2, quarter), -1);  // -0.5: -1 then -0.5 -> -1
  EXPECT_EQ(multiply_by_quantized_multiplier(-6, quarter), -2);  // -1.5
  EXPECT_EQ(multiply_by_quantized_multiplier(1000, to_fixed_multiplier(0.0123)), 12);  // 12.3
}

TEST(TfliteArithmetic, DoubleRoundingDiffersFromSingleRounding) {
  // M = 0.1875 = 0.75 * 2^-2: M0 = 0.75 * 2^31, n = 33. 2 * M = 0.375.
  const FixedMultiplier m{1610612736, 33};
  // gemmlowp: 2 * 0.75 in Q31 = 1.5 -> 2, then 2 / 4 = 0.5 -> 1 (away from zero).
  EXPECT_EQ(requantize_tflite(2, m, 0, -128, 127), 1);
  // One rounding of the exact 0.375 gives 0.
  EXPECT_EQ(requantize_fixed(2, m, 0, -128, 127), 0);
  // Zero point and saturation come after the multiply.
  EXPECT_EQ(requantize_tflite(2, m, -128, -128, 127), -127);
  EXPECT_EQ(requantize_tflite(100000, m, 100, -128, 127), 127);
}

QAddParams add_params(RequantMode mode) {
  QAddParams p;
  p.a_scale = 0.5f, p.b_scale = 0.25f, p.c_scale = 1.0f;
  p.a_zp = p.b_zp = p.c_zp = 0;
  p.qmin = -128, p.qmax = 127;
  p.mode = mode;
  return p;
}

TEST(TfliteArithmetic, AddAsTflitesReferenceKernel) {
  // 3 * 0.5 + 5 * 0.25 = 2.75 -> 3. Inputs shifted by 2^20, scaled by 0.5 and
  // 0.25 (of 2 * max scale = 1), summed (2883584), scaled by 2^-20 -> 2.75 -> 3.
  const std::vector<std::int8_t> a{3, 1, -1}, b{5, 0, 0};
  std::vector<std::int8_t> c(3);
  qlinear_add<std::int8_t>(add_params(RequantMode::tflite), a, b, c);
  EXPECT_EQ(c[0], 3);
  EXPECT_EQ(c[1], 1);   // 0.5: away from zero
  EXPECT_EQ(c[2], -1);  // -0.5: away from zero
}

TEST(TfliteArithmetic, AddAsXnnpack) {
  // Ratios 0.5 and 0.25; the larger is 2^-1, so shift = 20 + 1 = 21,
  // multipliers 2^20 and 2^19, bias 2^20 (the rounding term).
  // 3, 5: (2^20 + 3 * 2^20 + 5 * 2^19) >> 21 = 6.5 * 2^20 >> 21 = 3.
  const std::vector<std::int8_t> a{3, 1, -1}, b{5, 0, 0};
  std::vector<std::int8_t> c(3);
  qlinear_add<std::int8_t>(add_params(RequantMode::xnnpack), a, b, c);
  EXPECT_EQ(c[0], 3);
  EXPECT_EQ(c[1], 1);  // 0.5: (2^20 + 2^20) >> 21 = 1
  EXPECT_EQ(c[2], 0);  // -0.5: (2^20 - 2^20) >> 21 = 0, where TFLite's reference kernel gives -1
}

TEST(TfliteArithmetic, AveragePoolRoundsHalfAwayFromZero) {
  Requantizer r;
  r.mode = RequantMode::tflite;
  r.qmin = -128, r.qmax = 127;
  const std::vector<std::int8_t> x{1, 2, 3, 4, -1, -2, -3, -4, -1, -1, -1, 0};
  std::vector<std::int8_t> y(3);
  qlinear_global_average_pool<std::int8_t>(3, 4, x, 0, r, y);
  EXPECT_EQ(y[0], 3);   // 2.5
  EXPECT_EQ(y[1], -3);  // -2.5
  EXPECT_EQ(y[2], -1);  // -0.75
}

TEST(TfliteArithmetic, SoftmaxWithTfliteTable) {
  // x_scale = ln 3: exp(-ln 3 * (1 - 0)) = 1/3, so p = (3/4, 1/4), times 256
  // = 192 and 64, minus 128.
  QSoftmaxParams p;
  p.x_scale = static_cast<float>(std::log(3.0));
  p.y_scale = 1.0f / 256, p.y_zp = -128, p.qmin = -128, p.qmax = 127, p.tflite = true;
  const std::vector<std::int8_t> x{1, 0, 7, 7};
  std::vector<std::int8_t> y(4);
  qlinear_softmax<std::int8_t>(p, 2, x, y);
  EXPECT_EQ(y[0], 64);
  EXPECT_EQ(y[1], -64);
  EXPECT_EQ(y[2], 0);  // equal inputs: 0.5 * 256 = 128 -> 0
  EXPECT_EQ(y[3], 0);
}


TEST(TfliteArithmetic, GemmlowpFixedPointFunctions) {
  const double q31 = std::ldexp(1.0, 31);
  // exp(0) is 1 (the largest Q0.31 value); exp(-1) = exp(-1/4)^2 exp(-1/2):
  // -1 in Q5.26 is -2^26. The fourth-order polynomial on [-1/4, 0) is good to
  // about (1/8)^5 / 120 = 2.5e-7, so within 1e-6 of exp(x) * 2^31.
  EXPECT_EQ(gemmlowp::exp_on_negative_values(0, 5), INT32_MAX);
  EXPECT_NEAR(gemmlowp::exp_on_negative_values(-(1 << 26), 5), std::exp(-1.0) * q31, 1e-6 * q31);
  EXPECT_NEAR(gemmlowp::exp_on_negative_values(-(3 << 25), 5), std::exp(-1.5) * q31, 1e-6 * q31);
  EXPECT_NEAR(gemmlowp::exp_on_negative_values(-(31 << 26), 5), std::exp(-31.0) * q31, 2);
  // 1 / (1 + 1/2) = 2/3 (three Newton-Raphson steps: within a few units).
  EXPECT_NEAR(gemmlowp::one_over_one_plus_x_for_x_in_0_1(1 << 30), 2.0 / 3.0 * q31, 8);
  // Saturating shifts and rounding half sums.
  EXPECT_EQ(gemmlowp::saturating_rounding_multiply_by_pot(1 << 28, 3), INT32_MAX);
  EXPECT_EQ(gemmlowp::saturating_rounding_multiply_by_pot(-(1 << 28), 3), INT32_MIN);
  EXPECT_EQ(gemmlowp::saturating_rounding_multiply_by_pot(-5, -1), -3);  // -2.5 -> -3
  EXPECT_EQ(gemmlowp::rounding_half_sum(2, 3), 3);
  EXPECT_EQ(gemmlowp::rounding_half_sum(-2, -3), -3);
  // 1 / 2.5 (Q12.19): 2.5 = 1.25 * 2^1 -> 1 bit over unit, the Q0.31 result 0.8 (1/1.25).
  int bits = 0;
  EXPECT_NEAR(gemmlowp::reciprocal(static_cast<std::int32_t>(2.5 * (1 << 19)), 12, bits), 0.8 * q31, 8);
  EXPECT_EQ(bits, 1);
}

TEST(TfliteArithmetic, ReferenceSoftmaxAsTfliteMicro) {
  QSoftmaxParams p;
  p.x_scale = 0.1f;
  p.y_scale = 1.0f / 256.0f;
  p.qmin = -128, p.qmax = 127, p.y_zp = -128;
  set_reference_softmax(p, 1.0);
  // beta * x_scale * 2^26 with x_scale = 0.1f = 0.100000001490116: 6710886.5 =
  // 0.80000001192 * 2^23: M0 = round(0.80000001192 * 2^31) = 1717986944, left
  // shift 23; diff_min = -floor(31 * 2^26 / 2^23) = -248.
  EXPECT_EQ(p.beta_multiplier, 1717986944);
  EXPECT_EQ(p.beta_left_shift, 23);
  EXPECT_EQ(p.diff_min, -248);
  // Ten equal inputs: each exp is 1 (Q0.31 max), rescaled to Q12.19 as 2^19;
  // the sum 10 * 2^19 = 1.25 * 2^22: 3 bits over unit, reciprocal 0.8;
  // 0.8 * (2^31 - 1) / 2^31 rounds to 1717986917, / 2^26 = 25.6 -> 26; 26 - 128 = -102.
  std::vector<std::int8_t> x(10, 17), y(10);
  qlinear_softmax<std::int8_t>(p, 10, x, y);
  for (auto v : y) EXPECT_EQ(v, -102);
  // TFLite Micro's own test (softmax_test.cc, 1-D int8): inputs 1..5 at scale
  // 0.1; its float goldens 0.011656, 0.031685, 0.086129, 0.234122, 0.636409
  // quantized to 1/256 steps are -125, -120, -106, -68, 35, which it accepts
  // within one step.
  const std::vector<std::int8_t> in{10, 20, 30, 40, 50};
  std::vector<std::int8_t> out(5);
  qlinear_softmax<std::int8_t>(p, 5, in, out);
  const std::vector<int> golden{-125, -120, -106, -68, 35};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(out[i], golden[i], 1) << i;
  // An input more than 248 steps below the maximum contributes nothing: -128.
  const std::vector<std::int8_t> far{127, -128};
  std::vector<std::int8_t> far_out(2);
  qlinear_softmax<std::int8_t>(p, 2, far, far_out);
  EXPECT_EQ(far_out[1], -128);
  EXPECT_EQ(far_out[0], 127);  // 256/256 saturates at the top code
}


TEST(TfliteArithmetic, ReferenceMeanRescalesThenDivides) {
  // Equal scales (multiplier 1: M0 = 2^30, exact): [1, 2, 4] with zero point
  // -128: sum of x - zp = 391, 391 / 3 = 130.3 -> 130, + (-128) = 2.
  std::vector<std::int8_t> y(1);
  tflite_reference_mean<std::int8_t>(1, 3, std::vector<std::int8_t>{1, 2, 4}, -128, to_fixed_multiplier(1.0), -128, y);
  EXPECT_EQ(y[0], 2);
  // A tie is broken away from zero on x - zp, not on the codes: [0, 1] with
  // zero point -128: 257 / 2 = 128.5 -> 129, - 128 = 1 (the codes' mean 0.5 -> 1 too);
  // [-1, 0] with zero point 0: -1 / 2 = -0.5 -> -1.
  tflite_reference_mean<std::int8_t>(1, 2, std::vector<std::int8_t>{0, 1}, -128, to_fixed_multiplier(1.0), -128, y);
  EXPECT_EQ(y[0], 1);
  tflite_reference_mean<std::int8_t>(1, 2, std::vector<std::int8_t>{-1, 0}, 0, to_fixed_multiplier(1.0), 0, y);
  EXPECT_EQ(y[0], -1);
  // Output scale twice the input's (multiplier 0.5): [3, 4] -> 7 * 0.5 = 3.5,
  // rounded up by the doubling high multiply to 4, then 4 / 2 = 2.
  tflite_reference_mean<std::int8_t>(1, 2, std::vector<std::int8_t>{3, 4}, 0, to_fixed_multiplier(0.5), 0, y);
  EXPECT_EQ(y[0], 2);
  // Multiplier 3 (output scale a third of the input's) saturates: [100, 100] -> 600 / 2 = 300 -> 127.
  tflite_reference_mean<std::int8_t>(1, 2, std::vector<std::int8_t>{100, 100}, 0, to_fixed_multiplier(3.0), 0, y);
  EXPECT_EQ(y[0], 127);
}

}  // namespace
}  // namespace tinyq::kernels
