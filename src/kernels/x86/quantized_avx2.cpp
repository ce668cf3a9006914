// Compiled with -mavx2 -mfma (see src/CMakeLists.txt).
#include "kernels/x86/quantized_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/x86/simd_avx2.h"

namespace tinyq::kernels::x86 {
namespace {

// 8 int32 lanes (already within the 8-bit range) to 8 bytes.
template <typename T>
inline void store8(__m256i v, T* dst) {
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i bytes = std::is_same_v<T, std::uint8_t> ? _mm_packus_epi16(words, words) : _mm_packs_epi16(words, words);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes);
}

// 8 bytes to 8 floats.
template <typename T>
inline __m256 load8(const T* src) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
  const __m256i ints = std::is_same_v<T, std::uint8_t> ? _mm256_cvtepu8_epi32(bytes) : _mm256_cvtepi8_epi32(bytes);
  return _mm256_cvtepi32_ps(ints);
}

}  // namespace

template <typename T>
void quantize_linear_avx2(std::span<const float> x, float scale, std::int32_t zero_point, std::span<T> y) {
  constexpr std::int32_t qmin = std::numeric_limits<T>::min(), qmax = std::numeric_limits<T>::max();
  const float lo = static_cast<float>(qmin - zero_point), hi = static_cast<float>(qmax - zero_point);
  const __m256 vscale = _mm256_set1_ps(scale), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const __m256i vzp = _mm256_set1_epi32(zero_point);
  std::size_t i = 0;
  for (; i + 8 <= x.size(); i += 8) {
    // As the reference: divide (not multiply by 1/scale), clamp before
    // rounding (max_ps returns its second operand for NaN, so NaN lands on
    // lo), round half to even, add the zero point.
    __m256 v = _mm256_div_ps(_mm256_loadu_ps(x.data() + i), vscale);
    v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
    store8(_mm256_add_epi32(_mm256_cvtps_epi32(v), vzp), y.data() + i);
  }
  for (; i < x.size(); ++i) {
    float v = x[i] / scale;
    v = v >= lo ? (v <= hi ? v : hi) : lo;
    y[i] = static_cast<T>(static_cast<std::int32_t>(std::nearbyint(v)) + zero_point);
  }
}

template <typename T>
void dequantize_linear_avx2(std::span<const T> x, std::span<const float> scales, std::span<const std::int32_t> zero_points,
                            std::int64_t axis_size, std::int64_t inner, std::span<float> y) {
  // Runs of values that share a channel: the whole tensor per tensor.
  const std::size_t run = scales.size() > 1 ? static_cast<std::size_t>(inner) : x.size();
  for (std::size_t begin = 0, block = 0; begin < x.size(); begin += run, ++block) {
    const std::size_t c = scales.size() > 1 ? block % static_cast<std::size_t>(axis_size) : 0;
    const std::size_t end = begin + run < x.size() ? begin + run : x.size();
    const __m256i zp = _mm256_set1_epi32(zero_points[c]);
    const __m256 scale = _mm256_set1_ps(scales[c]);
    std::size_t i = begin;
    for (; i + 8 <= end; i += 8) {
      __m256i v;
      if constexpr (std::is_same_v<T, std::int32_t>) v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.data() + i));
      else if constexpr (std::is_signed_v<T>) v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.data() + i)));
      else v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.data() + i)));
      _mm256_storeu_ps(y.data() + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zp)), scale));
    }
    for (; i < end; ++i) y[i] = static_cast<float>(static_cast<std::int32_t>(x[i]) - zero_points[c]) * scales[c];
  }
}

AddFloat qlinear_add_float_form(const QAddParams& p) {
  const float ratio_a = p.a_scale / p.c_scale, ratio_b = p.b_scale / p.c_scale;
  return {ratio_a, ratio_b,
          static_cast<float>(p.c_zp) - std::fma(ratio_a, static_cast<float>(p.a_zp), ratio_b * static_cast<float>(p.b_zp))};
}

AddFixed qlinear_add_fixed_multipliers(const QAddParams& p) {
  const double ra = static_cast<double>(p.a_scale) / p.c_scale, rb = static_cast<double>(p.b_scale) / p.c_scale;
  int exponent = 0;
  std::frexp(std::max(ra, rb), &exponent);
  AddFixed f;
  f.shift = std::min(62, 31 - exponent);
  f.ma = std::llround(std::ldexp(ra, f.shift)), f.mb = std::llround(std::ldexp(rb, f.shift));
  return f;
}

namespace {

// 8 bytes to 8 int32.
template <typename T>
inline __m256i load8_epi32(const T* src) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
  return std::is_same_v<T, std::uint8_t> ? _mm256_cvtepu8_epi32(bytes) : _mm256_cvtepi8_epi32(bytes);
}

template <typename T>
void qlinear_add_fixed(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c) {
  const AddFixed f = qlinear_add_fixed_multipliers(p);
  const __m256i ma = _mm256_set1_epi64x(f.ma), mb = _mm256_set1_epi64x(f.mb), round = _mm256_set1_epi64x(1ll << (f.shift - 1));
  const __m128i shift = _mm_cvtsi32_si128(f.shift);
  const __m256i sign_shifted = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ull >> f.shift));
  const __m256i za = _mm256_set1_epi32(p.a_zp), zb = _mm256_set1_epi32(p.b_zp), zc = _mm256_set1_epi32(p.c_zp);
  const __m256i qmin = _mm256_set1_epi32(p.qmin), qmax = _mm256_set1_epi32(p.qmax);
  std::size_t i = 0;
  for (; i + 8 <= c.size(); i += 8) {
    const __m256i da = _mm256_sub_epi32(load8_epi32(a.data() + i), za), db = _mm256_sub_epi32(load8_epi32(b.data() + i), zb);
    // (da * ma + db * mb + 2^(shift-1)) >> shift, in 64 bits, per lane.
    const __m256i even = srai_epi64(_mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epi32(da, ma), _mm256_mul_epi32(db, mb)), round),
                                    shift, sign_shifted);
    const __m256i odd = srai_epi64(_mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(da, 32), ma),
                                                                     _mm256_mul_epi32(_mm256_srli_epi64(db, 32), mb)),
                                                    round),
                                   shift, sign_shifted);
    const __m256i y = _mm256_add_epi32(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b10101010), zc);
    store8(_mm256_min_epi32(_mm256_max_epi32(y, qmin), qmax), c.data() + i);
  }
  for (; i < c.size(); ++i) {
    const std::int64_t sum = (static_cast<std::int64_t>(a[i]) - p.a_zp) * f.ma + (static_cast<std::int64_t>(b[i]) - p.b_zp) * f.mb;
    const std::int64_t y = ((sum + (std::int64_t{1} << (f.shift - 1))) >> f.shift) + p.c_zp;
    c[i] = static_cast<T>(y < p.qmin ? p.qmin : (y > p.qmax ? p.qmax : y));
  }
}

}  // namespace

bool qlinear_add_fixed_fits_avx2(const QAddParams& p) {
  const double ra = static_cast<double>(p.a_scale) / p.c_scale, rb = static_cast<double>(p.b_scale) / p.c_scale;
  if (!(ra > 0) || !(rb > 0) || !std::isfinite(ra) || !std::isfinite(rb)) return false;
  const AddFixed f = qlinear_add_fixed_multipliers(p);
  // Multipliers must be int32 lanes; the shifted sum (|x - zp| <= 255) must fit
  // int32 before the zero point is added and the result clamped.
  return f.shift >= 1 && f.shift <= 62 && f.ma < (std::int64_t{1} << 31) && f.mb < (std::int64_t{1} << 31) &&
         255.0 * (ra + rb) < std::ldexp(1.0, 30);
}

template <typename T>
void qlinear_add_avx2(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c) {
  if (p.mode == RequantMode::fixed_point) return qlinear_add_fixed(p, a, b, c);
  // The reference's expression, lane by lane: fused multiply-adds round once,
  // exactly as std::fma does.
  const auto [ratio_a, ratio_b, fixed] = qlinear_add_float_form(p);
  const __m256 ra = _mm256_set1_ps(ratio_a), rb = _mm256_set1_ps(ratio_b), vf = _mm256_set1_ps(fixed);
  const __m256 qmin = _mm256_set1_ps(static_cast<float>(p.qmin)), qmax = _mm256_set1_ps(static_cast<float>(p.qmax));
  std::size_t i = 0;
  for (; i + 8 <= c.size(); i += 8) {
    const __m256 v = _mm256_fmadd_ps(load8(a.data() + i), ra, _mm256_fmadd_ps(load8(b.data() + i), rb, vf));
    // Round half to even, then saturate (on whole numbers, so clamping in float is exact).
    const __m256 r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    store8(_mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(r, qmin), qmax)), c.data() + i);
  }
  for (; i < c.size(); ++i) {
    const float v = std::fma(static_cast<float>(a[i]), ratio_a, std::fma(static_cast<float>(b[i]), ratio_b, fixed));
    const float r = std::nearbyint(v);
    c[i] = static_cast<T>(r < p.qmin ? p.qmin : (r > p.qmax ? p.qmax : static_cast<std::int32_t>(r)));
  }
}

template void dequantize_linear_avx2<std::uint8_t>(std::span<const std::uint8_t>, std::span<const float>, std::span<const std::int32_t>,
                                                   std::int64_t, std::int64_t, std::span<float>);
template void dequantize_linear_avx2<std::int8_t>(std::span<const std::int8_t>, std::span<const float>, std::span<const std::int32_t>,
                                                  std::int64_t, std::int64_t, std::span<float>);
template void dequantize_linear_avx2<std::int32_t>(std::span<const std::int32_t>, std::span<const float>, std::span<const std::int32_t>,
                                                   std::int64_t, std::int64_t, std::span<float>);
template void quantize_linear_avx2<std::uint8_t>(std::span<const float>, float, std::int32_t, std::span<std::uint8_t>);
template void quantize_linear_avx2<std::int8_t>(std::span<const float>, float, std::int32_t, std::span<std::int8_t>);
template void qlinear_add_avx2<std::uint8_t>(const QAddParams&, std::span<const std::uint8_t>, std::span<const std::uint8_t>,
                                             std::span<std::uint8_t>);
template void qlinear_add_avx2<std::int8_t>(const QAddParams&, std::span<const std::int8_t>, std::span<const std::int8_t>,
                                            std::span<std::int8_t>);

}  // namespace tinyq::kernels::x86
