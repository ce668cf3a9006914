#pragma once
// The stores of the x86 convolutions with AVX2: the float one (activation,
// partial vectors) and the requantizing store of the integer ones: 16 int32
// accumulators of one output channel (two halves of 8 positions) to 8-bit
// outputs, with AVX2 instructions. Shared by conv_avx2 and conv_avx512_vnni
// (whose accumulators are summed in 512-bit registers and stored through
// these two halves). Internal linkage for the reason conv_layout.h gives;
// include only from files compiled with at least -mavx2.
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "kernels/requant.h"
#include "kernels/x86/conv_avx2.h"
#include "kernels/x86/conv_layout.h"
#include "kernels/x86/simd_avx2.h"

namespace tinyq::kernels::x86 {
namespace {  // NOLINT: internal linkage per ISA-specific translation unit

// The float kernels' store: the fused activation, then `count` (1..8) floats.
inline void store_f32(__m256 v, const Activation& act, std::int64_t count, float* dst) {
  if (act.kind == Activation::Kind::relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
  else if (act.kind == Activation::Kind::clip) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(act.min)), _mm256_set1_ps(act.max));
  if (count == 8) return _mm256_storeu_ps(dst, v);
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, v);
  for (std::int64_t i = 0; i < count; ++i) dst[i] = tmp[i];
}

// Requantizes 8 accumulators of one output channel (bias already added).
inline __m256i requantize_float8(__m256i acc, __m256 multiplier, __m256 lo, __m256 hi, __m256i zp) {
  // As kernels::requantize_float: float(acc) * M, clamp, round half to even
  // (cvtps2dq under the default MXCSR), + zp.
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), multiplier);
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);
}

inline __m256i requantize_fixed8(__m256i acc, __m256i m0, int n_shift, __m256i round, __m256i zp, __m256i qmin, __m256i qmax) {
  // As kernels::requantize_fixed: (acc * m0 + 2^(n-1)) >> n in 64 bits; the
  // scaled values fit int32 (checked at pack time). Multipliers below 1/2
  // (nearly all) have n >= 32 and take the shorter route.
  const __m256i scaled =
      n_shift >= 32 ? multiply_round_shift_high(acc, m0, round, _mm_cvtsi32_si128(n_shift - 32))
                    : multiply_round_shift(acc, m0, round, _mm_cvtsi32_si128(n_shift),
                                           _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ull >> n_shift)));
  return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(scaled, zp), qmin), qmax);
}

// 16 int32 (already in [qmin, qmax]) to 16 bytes.
template <typename TY>
inline __m128i pack16(__m256i a, __m256i b) {
  const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
  const __m128i lo = _mm256_castsi256_si128(words), hi = _mm256_extracti128_si256(words, 1);
  if constexpr (std::is_same_v<TY, std::uint8_t>) return _mm_packus_epi16(lo, hi);
  else return _mm_packs_epi16(lo, hi);
}

// Stores 16 output bytes of one channel, 8 per part of the block: only each
// part's valid positions.
template <typename TY>
inline void store_bytes16(__m128i bytes, const Block<2>& block, TY* plane) {
  if (block.count[0] == 8 && block.count[1] == 8) {  // the common case: plain stores, no copy loop
    if (block.y_offset[1] == block.y_offset[0] + 8) return _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + block.y_offset[0]), bytes);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(plane + block.y_offset[0]), bytes);
    return _mm_storel_epi64(reinterpret_cast<__m128i*>(plane + block.y_offset[1]), _mm_unpackhi_epi64(bytes, bytes));
  }
  alignas(16) TY tmp[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
  for (int h = 0; h < 2; ++h)
    for (std::int64_t i = 0; i < block.count[h]; ++i) plane[block.y_offset[h] + i] = tmp[8 * h + i];
}

// Requantizes the 16 accumulators of output channel oc for one block (a0 and
// a1: its two halves) and stores the valid positions of each half as TY.
template <typename TY>
inline void requantize_store(const ConvRequant& packed, std::int64_t oc, __m256i a0, __m256i a1, const Block<2>& block, TY* plane) {
  const std::size_t c = static_cast<std::size_t>(oc);
  const __m256i zp = _mm256_set1_epi32(packed.zero_point);
  __m256i q0, q1;
  if (packed.mode == kernels::RequantMode::fixed_point && !packed.fixed_fits_int32) {
    alignas(32) std::int32_t a[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(a), a0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(a + 8), a1);
    const kernels::FixedMultiplier fm{packed.m0[c], packed.shift[c]};
    for (auto& v : a) v = kernels::requantize_fixed(v, fm, packed.zero_point, packed.qmin, packed.qmax);
    q0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a));
    q1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + 8));
  } else if (packed.mode == kernels::RequantMode::fixed_point) {
    const __m256i m0 = _mm256_set1_epi64x(packed.m0[c]);
    const int n_shift = packed.shift[c];
    const __m256i round = _mm256_set1_epi64x(1ll << (n_shift - 1));
    const __m256i qmin = _mm256_set1_epi32(packed.qmin), qmax = _mm256_set1_epi32(packed.qmax);
    q0 = requantize_fixed8(a0, m0, n_shift, round, zp, qmin, qmax);
    q1 = requantize_fixed8(a1, m0, n_shift, round, zp, qmin, qmax);
  } else {
    const __m256 m = _mm256_set1_ps(packed.multipliers[c]);
    const __m256 lo = _mm256_set1_ps(static_cast<float>(packed.qmin - packed.zero_point));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(packed.qmax - packed.zero_point));
    q0 = requantize_float8(a0, m, lo, hi, zp);
    q1 = requantize_float8(a1, m, lo, hi, zp);
  }
  store_bytes16<TY>(pack16<TY>(q0, q1), block, plane);
}

}  // namespace
}  // namespace tinyq::kernels::x86
