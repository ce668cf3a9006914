#pragma once
// The two passes a calibration observer makes over a tensor: its range and a
// histogram of |x|. The reference loops define the results; the x86-avx2
// versions (kernels/x86/statistics_avx2.h) must give the same, bit for bit.
#include <cstdint>
#include <span>

namespace tinyq::kernels {

struct ValueRange {
  float min = 0, max = 0;
  bool finite = true;  // false when some value is NaN or Inf (min/max are then meaningless)
};
ValueRange value_range(std::span<const float> values);

// histogram[min(floor(|x| * per_bin), last)] += 1 for every x, with |x| * per_bin in double.
void accumulate_abs_histogram(std::span<const float> values, double per_bin, std::size_t last, std::uint64_t* histogram);

}  // namespace tinyq::kernels
