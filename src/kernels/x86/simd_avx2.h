#pragma once
// Small AVX2 helpers shared by the x86 kernels. Include only from files
// compiled with at least -mavx2. Internal linkage for the reason
// conv_layout.h gives (files with different ISA flags include this).
#include <immintrin.h>

namespace tinyq::kernels::x86 {
namespace {  // NOLINT: internal linkage per ISA-specific translation unit

// Arithmetic right shift of four int64 lanes by `shift` (AVX2 has none before
// AVX-512): flip the sign bit, shift logically, subtract the shifted sign bit.
// sign_shifted must be 0x8000000000000000 >> shift.
inline __m256i srai_epi64(__m256i v, __m128i shift, __m256i sign_shifted) {
  const __m256i sign = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ull));
  return _mm256_sub_epi64(_mm256_srl_epi64(_mm256_xor_si256(v, sign), shift), sign_shifted);
}

// (a * m + round) >> shift per int32 lane of `a`, in 64-bit arithmetic, the
// low 32 bits of each result back in place (callers make sure they fit).
// m, round: 64-bit lanes (m's low half is the int32 multiplier).
inline __m256i multiply_round_shift(__m256i a, __m256i m, __m256i round, __m128i shift, __m256i sign_shifted) {
  const __m256i even = srai_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, m), round), shift, sign_shifted);
  const __m256i odd = srai_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), m), round), shift, sign_shifted);
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b10101010);
}

// The same for shift >= 32, with fewer instructions: the high 32 bits of
// each 64-bit sum are its floor division by 2^32, and flooring that by
// 2^(shift - 32) is the floor by 2^shift, so one 32-bit arithmetic shift
// finishes it (AVX2 has those, not 64-bit ones).
inline __m256i multiply_round_shift_high(__m256i a, __m256i m, __m256i round, __m128i shift_minus_32) {
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, m), round);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), m), round);
  const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0b10101010);
  return _mm256_sra_epi32(high, shift_minus_32);
}

}  // namespace
}  // namespace tinyq::kernels::x86
