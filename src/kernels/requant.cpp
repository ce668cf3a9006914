#include "kernels/requant.h"

#include <string>

#include "core/error.h"

namespace tinyq::kernels {

FixedMultiplier to_fixed_multiplier(double real_multiplier) {
  if (!std::isfinite(real_multiplier) || real_multiplier < 0)
    throw Error("requantization multiplier " + std::to_string(real_multiplier) + " is not a finite positive number");
  if (real_multiplier == 0) return {};
  if (real_multiplier >= std::ldexp(1.0, 30))
    throw Error("requantization multiplier " + std::to_string(real_multiplier) + " is too large for a 32-bit fixed-point form");
  // real = f * 2^e with f in [0.5, 1): M0 = round(f * 2^31), n = 31 - e.
  int exponent = 0;
  const double fraction = std::frexp(real_multiplier, &exponent);
  std::int64_t m0 = std::llround(fraction * std::ldexp(1.0, 31));
  int shift = 31 - exponent;
  if (m0 == (std::int64_t{1} << 31)) {  // rounding reached 2^31: renormalize
    m0 /= 2;
    --shift;
  }
  if (shift > 62) return {};  // below 2^-31: every 8-bit result rounds to the zero point
  return {static_cast<std::int32_t>(m0), shift};
}

double from_fixed_multiplier(const FixedMultiplier& m) { return std::ldexp(static_cast<double>(m.m0), -m.shift); }

}  // namespace tinyq::kernels
