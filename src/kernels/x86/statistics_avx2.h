#pragma once
// AVX2 versions of kernels/reference/statistics.h, equal to them bit for bit
// (tests/unit/fast_kernels_test.cpp). Compiled with -mavx2: call only when
// cpu_features().avx2 is true.
#include "kernels/reference/statistics.h"

namespace tinyq::kernels::x86 {

ValueRange value_range_avx2(std::span<const float> values);
void accumulate_abs_histogram_avx2(std::span<const float> values, double per_bin, std::size_t last, std::uint64_t* histogram);

}  // namespace tinyq::kernels::x86
