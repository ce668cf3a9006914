// Compiled with -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl (see
// src/CMakeLists.txt); the header says what it computes.
#include "kernels/x86/quantized_avx512.h"

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/x86/pack_avx512.h"
#include "kernels/x86/quantized_avx2.h"

namespace tinyq::kernels::x86 {
namespace {

// Up to 16 bytes (the lanes of `mask`) as int32; masked-off lanes read nothing.
template <typename T>
inline __m512i load16_epi32(const T* src, __mmask16 mask) {
  const __m128i bytes = _mm_maskz_loadu_epi8(mask, src);
  return std::is_same_v<T, std::uint8_t> ? _mm512_cvtepu8_epi32(bytes) : _mm512_cvtepi8_epi32(bytes);
}

// The lanes of positions i.. of n: all 16, or the tail.
inline __mmask16 lanes(std::size_t i, std::size_t n) {
  return n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
}

template <typename T>
void qlinear_add_fixed(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c) {
  const AddFixed f = qlinear_add_fixed_multipliers(p);
  const __m512i ma = _mm512_set1_epi64(f.ma), mb = _mm512_set1_epi64(f.mb), round = _mm512_set1_epi64(1ll << (f.shift - 1));
  const __m128i shift = _mm_cvtsi32_si128(f.shift);
  const __m512i za = _mm512_set1_epi32(p.a_zp), zb = _mm512_set1_epi32(p.b_zp), zc = _mm512_set1_epi32(p.c_zp);
  const __m512i qmin = _mm512_set1_epi32(p.qmin), qmax = _mm512_set1_epi32(p.qmax);
  for (std::size_t i = 0; i < c.size(); i += 16) {
    const __mmask16 m = lanes(i, c.size());
    const __m512i da = _mm512_sub_epi32(load16_epi32(a.data() + i, m), za), db = _mm512_sub_epi32(load16_epi32(b.data() + i, m), zb);
    // (da * ma + db * mb + 2^(shift-1)) >> shift, in 64 bits, even and odd lanes.
    const __m512i even =
        _mm512_sra_epi64(_mm512_add_epi64(_mm512_add_epi64(_mm512_mul_epi32(da, ma), _mm512_mul_epi32(db, mb)), round), shift);
    const __m512i odd = _mm512_sra_epi64(
        _mm512_add_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(da, 32), ma), _mm512_mul_epi32(_mm512_srli_epi64(db, 32), mb)),
                         round),
        shift);
    const __m512i y = _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)), zc);
    _mm_mask_storeu_epi8(c.data() + i, m, _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(y, qmin), qmax)));
  }
}

}  // namespace

template <typename T>
void qlinear_add_avx512(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c) {
  if (p.mode == RequantMode::fixed_point) return qlinear_add_fixed(p, a, b, c);
  // The reference's expression, lane by lane, as quantized_avx2 computes it.
  const AddFloat f = qlinear_add_float_form(p);
  const __m512 ra = _mm512_set1_ps(f.ratio_a), rb = _mm512_set1_ps(f.ratio_b), vf = _mm512_set1_ps(f.offset);
  const __m512 qmin = _mm512_set1_ps(static_cast<float>(p.qmin)), qmax = _mm512_set1_ps(static_cast<float>(p.qmax));
  // Saturating, then rounding half to even (cvtps2dq) is the reference's
  // round-then-saturate: the bounds are whole numbers.
  auto codes = [&](__m512i xa, __m512i xb) {
    const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(xa), ra, _mm512_fmadd_ps(_mm512_cvtepi32_ps(xb), rb, vf));
    return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, qmin), qmax));
  };
  auto widen = [](const T* src) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    return std::is_same_v<T, std::uint8_t> ? _mm512_cvtepu8_epi32(bytes) : _mm512_cvtepi8_epi32(bytes);
  };
  // 64 outputs per step, narrowed together (pack_codes64) into one store.
  // (Storing each 16 through a masked vpmovdb cost a third of this kernel.)
  std::size_t i = 0;
  for (; i + 64 <= c.size(); i += 64) {
    __m512i q[4];
    for (int k = 0; k < 4; ++k) q[k] = codes(widen(a.data() + i + 16 * k), widen(b.data() + i + 16 * k));
    _mm512_storeu_si512(c.data() + i, pack_codes64<T>(q[0], q[1], q[2], q[3]));
  }
  for (; i < c.size(); i += 16) {
    const __mmask16 m = lanes(i, c.size());
    _mm_mask_storeu_epi8(c.data() + i, m, _mm512_cvtepi32_epi8(codes(load16_epi32(a.data() + i, m), load16_epi32(b.data() + i, m))));
  }
}

template void qlinear_add_avx512<std::uint8_t>(const QAddParams&, std::span<const std::uint8_t>, std::span<const std::uint8_t>,
                                               std::span<std::uint8_t>);
template void qlinear_add_avx512<std::int8_t>(const QAddParams&, std::span<const std::int8_t>, std::span<const std::int8_t>,
                                              std::span<std::int8_t>);

}  // namespace tinyq::kernels::x86
