#pragma once
// gemmlowp's scalar fixed-point arithmetic, as TFLite's reference kernels
// (and TFLite Micro) use it for the int8 softmax: 32-bit raw values read as
// Qm.(31-m); a product is SaturatingRoundingDoublingHighMul of the raws (its
// integer bits add up). Written here from gemmlowp's documented algorithms
// (fixedpoint.h: exp on negative values by a Taylor polynomial around -1/8
// and a barrel shifter of exp(-2^k) constants, 1/(1+x) by three Newton-Raphson
// steps from 48/17 - 32/17 x), with its constants; tests/unit/tflite_arithmetic_test.cpp
// checks them against values worked out by hand.
#include <cstdint>
#include <limits>

#include "kernels/requant.h"

namespace tinyq::kernels::gemmlowp {

// x * 2^exponent: a saturating left shift for exponent > 0, a rounding
// (ties away from zero) right shift for exponent < 0.
inline std::int32_t saturating_rounding_multiply_by_pot(std::int32_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return rounding_divide_by_pot(x, -exponent);
  const std::int32_t threshold = (std::int32_t{1} << (31 - exponent)) - 1;
  if (x > threshold) return std::numeric_limits<std::int32_t>::max();
  if (x < -threshold) return std::numeric_limits<std::int32_t>::min();
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << exponent);
}

// Changes a raw value from `from_integer_bits` to `to_integer_bits`.
inline std::int32_t rescale(std::int32_t x, int from_integer_bits, int to_integer_bits) {
  return saturating_rounding_multiply_by_pot(x, from_integer_bits - to_integer_bits);
}

// (a + b) / 2 rounded to nearest, ties away from zero.
inline std::int32_t rounding_half_sum(std::int32_t a, std::int32_t b) {
  const std::int64_t sum = static_cast<std::int64_t>(a) + b;
  return static_cast<std::int32_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
}

inline std::int32_t mul(std::int32_t a, std::int32_t b) { return saturating_rounding_doubling_high_mul(a, b); }

// exp(a) for a in [-1/4, 0), a and the result in Q0.31.
inline std::int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(std::int32_t a) {
  const std::int32_t exp_minus_one_eighth = 1895147668;  // exp(-1/8) in Q0.31
  const std::int32_t one_third = 715827883;              // 1/3 in Q0.31
  const std::int32_t x = a + (std::int32_t{1} << 28);    // a + 1/8: the expansion is around -1/8
  const std::int32_t x2 = mul(x, x), x3 = mul(x2, x), x4 = mul(x2, x2);
  const std::int32_t x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
  const std::int32_t poly = saturating_rounding_multiply_by_pot(mul(x4_over_4 + x3, one_third) + x2, -1);
  return exp_minus_one_eighth + mul(exp_minus_one_eighth, x + poly);
}

// exp(a) for a <= 0 given with `integer_bits` integer bits; the result in Q0.31.
inline std::int32_t exp_on_negative_values(std::int32_t a, int integer_bits) {
  const int fractional_bits = 31 - integer_bits;
  const std::int32_t one_quarter = std::int32_t{1} << (fractional_bits - 2);
  // a = (a mod 1/4 - 1/4) - remainder, remainder a sum of powers of two >= 1/4.
  const std::int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
  std::int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
  const std::int32_t remainder = a_mod_quarter_minus_one_quarter - a;
  // exp(-2^k) in Q0.31 for k = -2 .. 4.
  constexpr std::int32_t exp_minus_pot[] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  for (int k = -2; k <= 4; ++k)
    if (integer_bits > k && (remainder & (std::int32_t{1} << (fractional_bits + k))) != 0) result = mul(result, exp_minus_pot[k + 2]);
  if (integer_bits > 5 && a < -(std::int32_t{1} << (36 - integer_bits))) result = 0;  // below -32
  return a == 0 ? std::numeric_limits<std::int32_t>::max() : result;
}

// 1 / (1 + a) for a in [0, 1), a and the result in Q0.31.
inline std::int32_t one_over_one_plus_x_for_x_in_0_1(std::int32_t a) {
  const std::int32_t half_denominator = rounding_half_sum(a, std::numeric_limits<std::int32_t>::max());  // Q0.31
  const std::int32_t c48_over_17 = 1515870810, c_minus_32_over_17 = -1010580540;  // Q2.29
  const std::int32_t one_q2 = std::int32_t{1} << 29;
  std::int32_t x = c48_over_17 + mul(half_denominator, c_minus_32_over_17);  // Q2.29
  for (int i = 0; i < 3; ++i) {
    const std::int32_t one_minus_half_denominator_times_x = one_q2 - mul(half_denominator, x);  // Q2.29
    x = x + rescale(mul(x, one_minus_half_denominator_times_x), 4, 2);
  }
  return rescale(x, 1, 0);  // x / 2, read as Q1.30, back to Q0.31
}

// TFLite's GetReciprocal: 1/x for x in Q(integer_bits).(31-integer_bits), as
// a Q0.31 value and the number of bits x exceeded 1.0 by.
inline std::int32_t reciprocal(std::int32_t x, int integer_bits, int& bits_over_unit) {
  int headroom_plus_one = 0;
  while (headroom_plus_one < 32 && (static_cast<std::uint32_t>(x) & (0x80000000u >> headroom_plus_one)) == 0) ++headroom_plus_one;
  bits_over_unit = integer_bits - headroom_plus_one;
  const auto shifted_minus_one = static_cast<std::int32_t>((static_cast<std::uint32_t>(x) << headroom_plus_one) - 0x80000000u);
  return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one);
}

}  // namespace tinyq::kernels::gemmlowp
