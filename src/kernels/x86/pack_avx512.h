#pragma once
// Narrowing int32 codes to bytes on AVX-512, shared by the VNNI convolution's
// store and QLinearAdd. Include after the intrinsics (avx512_build.h or
// <immintrin.h>); internal linkage, as conv_layout.h explains, because the
// file is compiled for real AVX-512 and on SIMDe.
#include <type_traits>

namespace tinyq::kernels::x86 {
namespace {  // NOLINT: internal linkage per ISA-specific translation unit

// Four vectors of 16 int32 codes, each already in T's range, as 64 bytes:
// q0's 16 codes, then q1's, q2's, q3's. Two saturating packs narrow them
// (exactly: nothing saturates) but leave, in each 128-bit lane l, elements
// 4l .. 4l+3 of q0, q1, q2, q3; one permutation puts them back in order.
// Cheaper than four vpmovdb (two shuffle uops each).
template <typename T>
inline __m512i pack_codes64(__m512i q0, __m512i q1, __m512i q2, __m512i q3) {
  const __m512i packed = std::is_signed_v<T> ? _mm512_packs_epi16(_mm512_packs_epi32(q0, q1), _mm512_packs_epi32(q2, q3))
                                             : _mm512_packus_epi16(_mm512_packus_epi32(q0, q1), _mm512_packus_epi32(q2, q3));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), packed);
}

}  // namespace
}  // namespace tinyq::kernels::x86
