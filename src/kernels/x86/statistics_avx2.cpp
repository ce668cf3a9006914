// Compiled with -mavx2 -mfma -ffp-contract=off (see src/CMakeLists.txt).
#include "kernels/x86/statistics_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tinyq::kernels::x86 {

ValueRange value_range_avx2(std::span<const float> values) {
  const std::size_t n = values.size();
  __m256 lo = _mm256_set1_ps(std::numeric_limits<float>::infinity()), hi = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 not_finite = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(values.data() + i);
    // v - v is NaN exactly when v is NaN or +-Inf.
    not_finite = _mm256_or_ps(not_finite, _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_sub_ps(v, v), _CMP_UNORD_Q));
    lo = _mm256_min_ps(lo, v);
    hi = _mm256_max_ps(hi, v);
  }
  if (_mm256_movemask_ps(not_finite)) return {0, 0, false};
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, lo);
  _mm256_store_ps(h, hi);
  ValueRange r{*std::min_element(l, l + 8), *std::max_element(h, h + 8), true};
  for (; i < n; ++i) {
    const float v = values[i];
    if (!std::isfinite(v)) return {0, 0, false};
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
  }
  return r;
}

void accumulate_abs_histogram_avx2(std::span<const float> values, double per_bin, std::size_t last, std::uint64_t* histogram) {
  // The bin index in double exactly as the reference computes it (|x| is
  // exact in double; the product rounds once; truncation toward zero), four
  // lanes at a time; the increments stay scalar.
  const std::size_t n = values.size();
  const __m256d scale = _mm256_set1_pd(per_bin), top = _mm256_set1_pd(static_cast<double>(last));
  const __m256d sign = _mm256_set1_pd(-0.0);
  std::size_t i = 0;
  alignas(16) std::int32_t bins[4];
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_andnot_pd(sign, _mm256_cvtps_pd(_mm_loadu_ps(values.data() + i)));
    // min before truncating: floor(min(a, last)) == min(floor(a), last) for a >= 0, last whole.
    _mm_store_si128(reinterpret_cast<__m128i*>(bins), _mm256_cvttpd_epi32(_mm256_min_pd(_mm256_mul_pd(x, scale), top)));
    ++histogram[bins[0]], ++histogram[bins[1]], ++histogram[bins[2]], ++histogram[bins[3]];
  }
  for (; i < n; ++i) histogram[std::min(static_cast<std::size_t>(std::abs(static_cast<double>(values[i])) * per_bin), last)]++;
}

}  // namespace tinyq::kernels::x86
