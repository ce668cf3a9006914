// Compiled with -mavx2 -mfma -ffp-contract=off (see src/CMakeLists.txt); the
// header says how it works.
#include "kernels/x86/gemm_avx2.h"

#include <immintrin.h>


namespace tinyq::kernels::x86 {
namespace {

inline std::int64_t lanes_left(std::int64_t n, std::int64_t j) { return n - j < 8 ? n - j : 8; }

// The first `count` (1..8) lanes.
inline __m256i lane_mask(std::int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

void gemm_f32_avx2(const GemmParams& p, std::span<const float> a, std::span<const float> b_packed, std::span<const float> c,
                   std::span<float> y) {
  const __m256 alpha = _mm256_set1_ps(p.alpha), beta = _mm256_set1_ps(p.beta);
  const __m256i c_offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(p.c_stride_n)));
  for (std::int64_t i = 0; i < p.m; ++i)
    for (std::int64_t j = 0; j < p.n; j += 8) {
      const __m256i mask = lane_mask(lanes_left(p.n, j));
      __m256 acc = _mm256_setzero_ps();
      for (std::int64_t t = 0; t < p.k; ++t) {
        const __m256 av = _mm256_set1_ps(p.trans_a ? a[t * p.m + i] : a[i * p.k + t]);
        acc = _mm256_add_ps(acc, _mm256_mul_ps(av, _mm256_maskload_ps(b_packed.data() + t * p.n + j, mask)));
      }
      __m256 out = _mm256_mul_ps(alpha, acc);
      if (!c.empty()) {
        const float* row = c.data() + i * p.c_stride_m + j * p.c_stride_n;
        out = _mm256_add_ps(out, _mm256_mul_ps(beta, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row, c_offsets, _mm256_castsi256_ps(mask), 4)));
      }
      _mm256_maskstore_ps(y.data() + i * p.n + j, mask, out);
    }
}

template <typename TA>
void qlinear_matmul_accumulate_avx2(std::int64_t m, std::int64_t n, std::int64_t k, std::span<const TA> a, std::int32_t a_zp,
                                    std::span<const std::int16_t> b_packed, std::span<std::int32_t> acc) {
  const std::int64_t pairs = (k + 1) / 2;
  for (std::int64_t i = 0; i < m; ++i) {
    const TA* row = a.data() + i * k;
    for (std::int64_t j = 0; j < n; j += 8) {
      const __m256i mask = lane_mask(lanes_left(n, j));
      __m256i sum = _mm256_setzero_si256();
      for (std::int64_t t = 0; t < pairs; ++t) {
        // (a[2t] - a_zp, a[2t+1] - a_zp) in every lane's two int16 halves.
        const std::int32_t lo = static_cast<std::int32_t>(row[2 * t]) - a_zp;
        const std::int32_t hi = 2 * t + 1 < k ? static_cast<std::int32_t>(row[2 * t + 1]) - a_zp : 0;
        const __m256i av = _mm256_set1_epi32(static_cast<std::int32_t>((static_cast<std::uint32_t>(hi) << 16) | (static_cast<std::uint32_t>(lo) & 0xFFFF)));
        const __m256i bv = _mm256_maskload_epi32(reinterpret_cast<const int*>(b_packed.data() + (t * n + j) * 2), mask);
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(av, bv));
      }
      _mm256_maskstore_epi32(acc.data() + i * n + j, mask, sum);
    }
  }
}

template void qlinear_matmul_accumulate_avx2<std::uint8_t>(std::int64_t, std::int64_t, std::int64_t, std::span<const std::uint8_t>,
                                                           std::int32_t, std::span<const std::int16_t>, std::span<std::int32_t>);
template void qlinear_matmul_accumulate_avx2<std::int8_t>(std::int64_t, std::int64_t, std::int64_t, std::span<const std::int8_t>,
                                                          std::int32_t, std::span<const std::int16_t>, std::span<std::int32_t>);

}  // namespace tinyq::kernels::x86
