#include "kernels/reference/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tinyq::kernels {

ValueRange value_range(std::span<const float> values) {
  ValueRange r{std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), true};
  for (float v : values) {
    if (!std::isfinite(v)) return {0, 0, false};
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
  }
  return r;
}

void accumulate_abs_histogram(std::span<const float> values, double per_bin, std::size_t last, std::uint64_t* histogram) {
  for (float v : values) histogram[std::min(static_cast<std::size_t>(std::abs(static_cast<double>(v)) * per_bin), last)]++;
}

}  // namespace tinyq::kernels
