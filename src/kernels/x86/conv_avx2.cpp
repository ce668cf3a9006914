// Compiled with -mavx2 -mfma (see src/CMakeLists.txt); the header says how it works.
#include "kernels/x86/conv_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace tinyq::kernels::x86 {
namespace {

constexpr std::int64_t kTileTarget = 64;  // output positions per tile (rounded to whole rows)
constexpr std::int64_t kLanes = 16;       // output positions per micro-kernel call

std::int64_t round_up(std::int64_t v, std::int64_t to) { return (v + to - 1) / to * to; }

// Output rows per tile: whole rows, about kTileTarget positions.
std::int64_t rows_per_tile(const Conv2DParams& p) {
  return std::clamp<std::int64_t>(kTileTarget / std::max<std::int64_t>(p.out_w, 1), 1, std::max<std::int64_t>(p.out_h, 1));
}

// im2col of output rows [row0, row0 + rows) into `col`: tap k of position t at
// col[(k / G) * t_pad * G + t * G + k % G]; G = 2 interleaves tap pairs for
// vpmaddwd. Positions outside the image read as 0 (already the transformed
// padding: x_zp - x_zp for the integer path).
template <int G, typename Out, typename In, typename Transform>
void im2col_rows(const Conv2DParams& p, const In* image, std::int64_t row0, std::int64_t rows, std::int64_t t_pad,
                 Out* col, Transform transform) {
  std::int64_t k = 0;
  for (std::int64_t ic = 0; ic < p.in_channels; ++ic) {
    const In* plane = image + ic * p.in_h * p.in_w;
    for (std::int64_t kh = 0; kh < p.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < p.kernel_w; ++kw, ++k) {
        Out* dst = col + (k / G) * t_pad * G + k % G;
        // Output columns whose input column lies inside the image: [ow_lo, ow_hi).
        const std::int64_t offset = kw * p.dilation_w - p.pad_left;
        std::int64_t ow_lo = 0, ow_hi = p.out_w;
        while (ow_lo < p.out_w && ow_lo * p.stride_w + offset < 0) ++ow_lo;
        while (ow_hi > ow_lo && (ow_hi - 1) * p.stride_w + offset >= p.in_w) --ow_hi;
        for (std::int64_t r = 0; r < rows; ++r) {
          Out* d = dst + r * p.out_w * G;
          const std::int64_t ih = (row0 + r) * p.stride_h + kh * p.dilation_h - p.pad_top;
          if (ih < 0 || ih >= p.in_h) {
            for (std::int64_t ow = 0; ow < p.out_w; ++ow) d[ow * G] = Out{0};
            continue;
          }
          const In* src = plane + ih * p.in_w + offset;
          for (std::int64_t ow = 0; ow < ow_lo; ++ow) d[ow * G] = Out{0};
          for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) d[ow * G] = transform(src[ow * p.stride_w]);
          for (std::int64_t ow = ow_hi; ow < p.out_w; ++ow) d[ow * G] = Out{0};
        }
      }
  }
}

// Per-thread scratch for the column tiles: grows to the largest layer once.
template <typename T>
T* scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.assign(count, T{0});
  return buffer.data();
}

}  // namespace

PackedConvF32 pack_conv_f32(std::int64_t out_channels, std::int64_t taps, std::span<const float> weight,
                            std::span<const float> bias, Activation activation) {
  PackedConvF32 packed;
  packed.out_channels = out_channels;
  packed.taps = taps;
  packed.activation = activation;
  const std::int64_t panels = round_up(out_channels, kConvPanel) / kConvPanel;
  packed.weights.assign(static_cast<std::size_t>(panels * taps * kConvPanel), 0.f);
  packed.bias.assign(static_cast<std::size_t>(panels * kConvPanel), 0.f);
  for (std::int64_t oc = 0; oc < out_channels; ++oc) {
    const std::int64_t panel = oc / kConvPanel, lane = oc % kConvPanel;
    for (std::int64_t k = 0; k < taps; ++k)
      packed.weights[static_cast<std::size_t>((panel * taps + k) * kConvPanel + lane)] = weight[static_cast<std::size_t>(oc * taps + k)];
    if (!bias.empty()) packed.bias[static_cast<std::size_t>(oc)] = bias[static_cast<std::size_t>(oc)];
  }
  return packed;
}

void conv2d_f32_avx2(const Conv2DParams& p, const PackedConvF32& packed, const float* x, float* y) {
  const std::int64_t plane = p.out_h * p.out_w, taps = packed.taps;
  const std::int64_t tile_rows = rows_per_tile(p), t_pad = round_up(tile_rows * p.out_w, kLanes);
  float* col = scratch<float>(static_cast<std::size_t>(taps * t_pad));
  const Activation act = packed.activation;
  const __m256 lo = _mm256_set1_ps(act.kind == Activation::Kind::clip ? act.min : 0.f);
  const __m256 hi = _mm256_set1_ps(act.kind == Activation::Kind::clip ? act.max : 0.f);
  const std::int64_t panels = round_up(packed.out_channels, kConvPanel) / kConvPanel;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const float* image = x + n * p.in_channels * p.in_h * p.in_w;
    float* out = y + n * packed.out_channels * plane;
    for (std::int64_t row0 = 0; row0 < p.out_h; row0 += tile_rows) {
      const std::int64_t rows = std::min(tile_rows, p.out_h - row0), positions = rows * p.out_w;
      im2col_rows<1>(p, image, row0, rows, t_pad, col, [](float v) { return v; });
      for (std::int64_t panel = 0; panel < panels; ++panel) {
        const float* w = packed.weights.data() + panel * taps * kConvPanel;
        const float* b = packed.bias.data() + panel * kConvPanel;
        for (std::int64_t t0 = 0; t0 < positions; t0 += kLanes) {
          __m256 acc[kConvPanel][2];
          for (int r = 0; r < kConvPanel; ++r) acc[r][0] = acc[r][1] = _mm256_broadcast_ss(b + r);
          const float* c = col + t0;
          for (std::int64_t k = 0; k < taps; ++k, c += t_pad) {
            const __m256 x0 = _mm256_loadu_ps(c), x1 = _mm256_loadu_ps(c + 8);
            for (int r = 0; r < kConvPanel; ++r) {
              const __m256 wv = _mm256_broadcast_ss(w + k * kConvPanel + r);
              acc[r][0] = _mm256_fmadd_ps(wv, x0, acc[r][0]);
              acc[r][1] = _mm256_fmadd_ps(wv, x1, acc[r][1]);
            }
          }
          const std::int64_t count = std::min(kLanes, positions - t0);
          for (int r = 0; r < kConvPanel; ++r) {
            const std::int64_t oc = panel * kConvPanel + r;
            if (oc >= packed.out_channels) break;
            for (int h = 0; h < 2; ++h) {
              if (act.kind == Activation::Kind::relu) acc[r][h] = _mm256_max_ps(acc[r][h], lo);
              else if (act.kind == Activation::Kind::clip) acc[r][h] = _mm256_min_ps(_mm256_max_ps(acc[r][h], lo), hi);
            }
            float* dst = out + oc * plane + row0 * p.out_w + t0;
            if (count == kLanes) {
              _mm256_storeu_ps(dst, acc[r][0]);
              _mm256_storeu_ps(dst + 8, acc[r][1]);
            } else {
              alignas(32) float tmp[kLanes];
              _mm256_store_ps(tmp, acc[r][0]);
              _mm256_store_ps(tmp + 8, acc[r][1]);
              std::memcpy(dst, tmp, static_cast<std::size_t>(count) * sizeof(float));
            }
          }
        }
      }
    }
  }
}

template <typename TW>
PackedConvQ pack_conv_q(std::int64_t out_channels, std::int64_t taps, std::span<const TW> weight,
                        std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                        std::int32_t x_zero_point, const Requantizer& requantizer) {
  PackedConvQ packed;
  packed.out_channels = out_channels;
  packed.taps = taps;
  packed.tap_pairs = (taps + 1) / 2;
  packed.x_zero_point = x_zero_point;
  packed.mode = requantizer.mode;
  packed.zero_point = requantizer.zero_point;
  packed.qmin = requantizer.qmin;
  packed.qmax = requantizer.qmax;
  const std::int64_t padded = round_up(out_channels, kConvPanel), panels = padded / kConvPanel;
  packed.weights.assign(static_cast<std::size_t>(panels * packed.tap_pairs * kConvPanel * 2), 0);
  packed.bias.assign(static_cast<std::size_t>(padded), 0);
  packed.multipliers.assign(static_cast<std::size_t>(padded), 0.f);
  packed.m0.assign(static_cast<std::size_t>(padded), 0);
  packed.shift.assign(static_cast<std::size_t>(padded), 1);
  // x - x_zp lies in [-255, 255] for u8 and s8 alike.
  constexpr std::int64_t max_x = 255;
  for (std::int64_t oc = 0; oc < out_channels; ++oc) {
    const std::size_t c = static_cast<std::size_t>(oc);
    const std::int32_t w_zp = w_zero_points[w_zero_points.size() > 1 ? c : 0];
    const std::int64_t panel = oc / kConvPanel, lane = oc % kConvPanel;
    std::int64_t bound = bias.empty() ? 0 : std::abs(static_cast<std::int64_t>(bias[c]));
    for (std::int64_t k = 0; k < taps; ++k) {
      const std::int32_t wv = static_cast<std::int32_t>(weight[static_cast<std::size_t>(oc * taps + k)]) - w_zp;
      packed.weights[static_cast<std::size_t>(((panel * packed.tap_pairs + k / 2) * kConvPanel + lane) * 2 + k % 2)] =
          static_cast<std::int16_t>(wv);
      bound += std::abs(wv) * max_x;
    }
    if (!bias.empty()) packed.bias[c] = bias[c];
    const std::size_t m = requantizer.multipliers.size() > 1 ? c : 0;
    packed.multipliers[c] = requantizer.multipliers.at(m);
    if (requantizer.mode == quant::RequantMode::fixed_point) {
      const quant::FixedMultiplier fm = requantizer.fixed.at(m);
      // A zero multiplier maps everything to the zero point; shift 1 keeps the
      // rounding term (1 << (shift - 1)) defined and the product 0.
      packed.m0[c] = fm.m0;
      packed.shift[c] = fm.m0 == 0 ? 1 : fm.shift;
      if (static_cast<double>(bound) * quant::from_fixed_multiplier(fm) >= std::ldexp(1.0, 30))
        packed.fixed_fits_int32 = false;
    }
    if (bound >= (std::int64_t{1} << 31))
      throw Error("quantized convolution: channel " + std::to_string(oc) + " can overflow a 32-bit accumulator");
  }
  return packed;
}

namespace {

// Requantizes 8 accumulators of one output channel (bias already added).
inline __m256i requantize_float8(__m256i acc, __m256 multiplier, __m256 lo, __m256 hi, __m256i zp) {
  // As quant::requantize_float: float(acc) * M, clamp, round half to even
  // (cvtps2dq under the default MXCSR), + zp.
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), multiplier);
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);
}

inline __m256i requantize_fixed8(__m256i acc, __m256i m0, __m128i shift, __m256i round, __m256i sign_shifted,
                                 __m256i zp, __m256i qmin, __m256i qmax) {
  // As quant::requantize_fixed: (acc * m0 + 2^(n-1)) >> n in 64 bits. AVX2
  // has no 64-bit arithmetic shift: flip the sign bit, shift logically, and
  // subtract the shifted sign bit. Even and odd lanes are done separately.
  const __m256i sign = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ull));
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(acc, m0), round);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(acc, 32), m0), round);
  const __m256i se = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_xor_si256(even, sign), shift), sign_shifted);
  const __m256i so = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_xor_si256(odd, sign), shift), sign_shifted);
  // The scaled values fit int32 (checked at pack time): keep the low halves.
  const __m256i scaled = _mm256_blend_epi32(se, _mm256_slli_epi64(so, 32), 0b10101010);
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

}  // namespace

template <typename TX, typename TY>
void qlinear_conv_avx2(const Conv2DParams& p, const PackedConvQ& packed, const TX* x, TY* y) {
  const std::int64_t plane = p.out_h * p.out_w, pairs = packed.tap_pairs;
  const std::int64_t tile_rows = rows_per_tile(p), t_pad = round_up(tile_rows * p.out_w, kLanes);
  std::int16_t* col = scratch<std::int16_t>(static_cast<std::size_t>(pairs * t_pad * 2));
  const std::int32_t x_zp = packed.x_zero_point;
  const auto transform = [x_zp](TX v) { return static_cast<std::int16_t>(static_cast<std::int32_t>(v) - x_zp); };
  const std::int64_t panels = round_up(packed.out_channels, kConvPanel) / kConvPanel;
  const bool fixed = packed.mode == quant::RequantMode::fixed_point;
  const bool vector_epilogue = !fixed || packed.fixed_fits_int32;
  const __m256i zp = _mm256_set1_epi32(packed.zero_point);
  const __m256i qmin = _mm256_set1_epi32(packed.qmin), qmax = _mm256_set1_epi32(packed.qmax);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(packed.qmin - packed.zero_point));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(packed.qmax - packed.zero_point));
  if (packed.taps % 2) {  // the last pair's second tap multiplies a zero weight; keep it a defined 0
    for (std::int64_t t = 0; t < t_pad; ++t) col[((pairs - 1) * t_pad + t) * 2 + 1] = 0;
  }
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const TX* image = x + n * p.in_channels * p.in_h * p.in_w;
    TY* out = y + n * packed.out_channels * plane;
    for (std::int64_t row0 = 0; row0 < p.out_h; row0 += tile_rows) {
      const std::int64_t rows = std::min(tile_rows, p.out_h - row0), positions = rows * p.out_w;
      im2col_rows<2>(p, image, row0, rows, t_pad, col, transform);
      for (std::int64_t panel = 0; panel < panels; ++panel) {
        const std::int16_t* w = packed.weights.data() + panel * pairs * kConvPanel * 2;
        for (std::int64_t t0 = 0; t0 < positions; t0 += kLanes) {
          __m256i acc[kConvPanel][2];
          for (int r = 0; r < kConvPanel; ++r)
            acc[r][0] = acc[r][1] = _mm256_set1_epi32(packed.bias[static_cast<std::size_t>(panel * kConvPanel + r)]);
          const std::int16_t* c = col + t0 * 2;
          for (std::int64_t k = 0; k < pairs; ++k, c += t_pad * 2) {
            const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c));
            const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 16));
            const std::int16_t* wk = w + k * kConvPanel * 2;
            for (int r = 0; r < kConvPanel; ++r) {
              std::int32_t pair;
              std::memcpy(&pair, wk + r * 2, sizeof pair);
              const __m256i wv = _mm256_set1_epi32(pair);
              acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x0, wv));
              acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x1, wv));
            }
          }
          // x0 holds positions t0..t0+7 in order (one tap pair per 32-bit lane),
          // so acc[r][0] is positions t0..t0+7 and acc[r][1] t0+8..t0+15.
          const std::int64_t count = std::min(kLanes, positions - t0);
          for (int r = 0; r < kConvPanel; ++r) {
            const std::int64_t oc = panel * kConvPanel + r;
            if (oc >= packed.out_channels) break;
            const std::size_t c_index = static_cast<std::size_t>(oc);
            __m256i q0, q1;
            if (!vector_epilogue) {
              alignas(32) std::int32_t a[kLanes];
              _mm256_store_si256(reinterpret_cast<__m256i*>(a), acc[r][0]);
              _mm256_store_si256(reinterpret_cast<__m256i*>(a + 8), acc[r][1]);
              const quant::FixedMultiplier fm{packed.m0[c_index], packed.shift[c_index]};
              for (auto& v : a) v = quant::requantize_fixed(v, fm, packed.zero_point, packed.qmin, packed.qmax);
              q0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a));
              q1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + 8));
            } else if (fixed) {
              const __m256i m0 = _mm256_set1_epi64x(packed.m0[c_index]);
              const int n_shift = packed.shift[c_index];
              const __m128i shift = _mm_cvtsi32_si128(n_shift);
              const __m256i round = _mm256_set1_epi64x(1ll << (n_shift - 1));
              const __m256i sign_shifted = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ull >> n_shift));
              q0 = requantize_fixed8(acc[r][0], m0, shift, round, sign_shifted, zp, qmin, qmax);
              q1 = requantize_fixed8(acc[r][1], m0, shift, round, sign_shifted, zp, qmin, qmax);
            } else {
              const __m256 m = _mm256_set1_ps(packed.multipliers[c_index]);
              q0 = requantize_float8(acc[r][0], m, lo, hi, zp);
              q1 = requantize_float8(acc[r][1], m, lo, hi, zp);
            }
            const __m128i bytes = pack16<TY>(q0, q1);
            TY* dst = out + oc * plane + row0 * p.out_w + t0;
            if (count == kLanes) {
              _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
            } else {
              alignas(16) TY tmp[kLanes];
              _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
              std::memcpy(dst, tmp, static_cast<std::size_t>(count));
            }
          }
        }
      }
    }
  }
}

template PackedConvQ pack_conv_q<std::uint8_t>(std::int64_t, std::int64_t, std::span<const std::uint8_t>,
                                               std::span<const std::int32_t>, std::span<const std::int32_t>,
                                               std::int32_t, const Requantizer&);
template PackedConvQ pack_conv_q<std::int8_t>(std::int64_t, std::int64_t, std::span<const std::int8_t>,
                                              std::span<const std::int32_t>, std::span<const std::int32_t>,
                                              std::int32_t, const Requantizer&);
template void qlinear_conv_avx2<std::uint8_t, std::uint8_t>(const Conv2DParams&, const PackedConvQ&, const std::uint8_t*, std::uint8_t*);
template void qlinear_conv_avx2<std::uint8_t, std::int8_t>(const Conv2DParams&, const PackedConvQ&, const std::uint8_t*, std::int8_t*);
template void qlinear_conv_avx2<std::int8_t, std::uint8_t>(const Conv2DParams&, const PackedConvQ&, const std::int8_t*, std::uint8_t*);
template void qlinear_conv_avx2<std::int8_t, std::int8_t>(const Conv2DParams&, const PackedConvQ&, const std::int8_t*, std::int8_t*);

}  // namespace tinyq::kernels::x86
