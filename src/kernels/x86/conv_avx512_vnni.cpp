// Compiled with -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512vnni
// (see src/CMakeLists.txt); the header says how it works. Compiled a second
// time with TINYQ_EMULATE_AVX512 defined, on SIMDe's portable AVX-512
// intrinsics (conv_avx512_vnni_emulated.cpp), so that the algorithm is
// checked on every machine, not only on VNNI ones.
#include "kernels/x86/avx512_build.h"  // first: it selects the intrinsics
#ifdef TINYQ_EMULATE_AVX512
#define TINYQ_VNNI_NAMESPACE avx512_vnni_emulated
#else
#define TINYQ_VNNI_NAMESPACE avx512_vnni
#endif

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernels/x86/conv_avx512_vnni.h"
#include "kernels/x86/conv_epilogue_avx2.h"
#include "kernels/x86/conv_layout.h"
#include "kernels/x86/pack_avx512.h"

namespace tinyq::kernels::x86::TINYQ_VNNI_NAMESPACE {
namespace {

constexpr int kParts = 4;  // a block: 4 parts of 8 positions = two vectors of 16 int32 lanes
constexpr int kQuad = 4;   // input channels per int32 lane

// 16 positions x 4 channels from two parts of 8 positions each.
inline __m512i load_two_parts(const std::uint8_t* x, std::int64_t first, std::int64_t second) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + first * kQuad));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + second * kQuad));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// One panel (8 output channels) x one block (32 positions): per tap quad, two
// loads, 8 weight broadcasts and 16 vpdpbusd. Accumulators start at the bias.
// kPairedParts: parts 0-1 and 2-3 are adjacent in the row (rows of a
// multiple of 16 outputs), so each vector is one 64-byte load.
template <bool kPairedParts>
inline void micro_vnni(const std::vector<std::int64_t>& offsets, const std::uint8_t* x, const std::int64_t (&part)[kParts],
                       const std::int8_t* w, const std::int32_t* bias, __m512i (&out)[kVnniPanel][2]) {
  __m512i acc[kVnniPanel][2];  // locals until the end, as in conv_avx2's micro-kernels
  for (int r = 0; r < kVnniPanel; ++r) acc[r][0] = acc[r][1] = _mm512_set1_epi32(bias[r]);
  for (const std::int64_t offset : offsets) {
    const std::uint8_t* xj = x + offset * kQuad;
    __m512i x0, x1;
    if constexpr (kPairedParts) {
      x0 = _mm512_loadu_si512(xj + part[0] * kQuad);
      x1 = _mm512_loadu_si512(xj + part[2] * kQuad);
    } else {
      x0 = load_two_parts(xj, part[0], part[1]);
      x1 = load_two_parts(xj, part[2], part[3]);
    }
    for (int r = 0; r < kVnniPanel; ++r) {
      std::int32_t quad;
      std::memcpy(&quad, w + r * kQuad, sizeof quad);
      const __m512i wv = _mm512_set1_epi32(quad);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x0, wv);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x1, wv);
    }
    w += kVnniPanel * kQuad;
  }
  for (int r = 0; r < kVnniPanel; ++r) out[r][0] = acc[r][0], out[r][1] = acc[r][1];
}

// Five AVX-512 instructions that SIMDe 0.7.4 (Debian 12) has no portable
// version of: the emulated build runs them as two 256-bit halves, with the
// same results.
#ifdef TINYQ_EMULATE_AVX512
inline __m512 to_float(__m512i v) {
  const __m256 lo = _mm256_cvtepi32_ps(_mm512_castsi512_si256(v)), hi = _mm256_cvtepi32_ps(_mm512_extracti64x4_epi64(v, 1));
  return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
inline __m512i round_to_int(__m512 v) {  // cvtps2dq: to nearest, ties to even
  const __m512i bits = _mm512_castps_si512(v);
  const __m256i lo = _mm256_cvtps_epi32(_mm256_castsi256_ps(_mm512_castsi512_si256(bits)));
  const __m256i hi = _mm256_cvtps_epi32(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(bits, 1)));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m512i shift_right_arithmetic64(__m512i v, int n) {  // as srai_epi64 in simd_avx2.h
  const __m512i sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ull));
  const __m128i count = _mm_cvtsi32_si128(n);
  return _mm512_sub_epi64(_mm512_srl_epi64(_mm512_xor_si512(v, sign), count), _mm512_srl_epi64(sign, count));
}
inline __m512i shift_right_arithmetic32(__m512i v, int n) {
  const __m128i count = _mm_cvtsi32_si128(n);
  const __m256i lo = _mm256_sra_epi32(_mm512_castsi512_si256(v), count), hi = _mm256_sra_epi32(_mm512_extracti64x4_epi64(v, 1), count);
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m128i low_bytes(__m512i v) {  // byte 0 of each int32 lane
  const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  auto half = [&](__m256i h) {
    return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(h, pick), _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1)));
  };
  return _mm_unpacklo_epi64(half(_mm512_castsi512_si256(v)), half(_mm512_extracti64x4_epi64(v, 1)));
}
#else
inline __m512 to_float(__m512i v) { return _mm512_cvtepi32_ps(v); }
inline __m512i round_to_int(__m512 v) { return _mm512_cvtps_epi32(v); }
inline __m512i shift_right_arithmetic64(__m512i v, int n) { return _mm512_sra_epi64(v, _mm_cvtsi32_si128(n)); }
inline __m512i shift_right_arithmetic32(__m512i v, int n) { return _mm512_sra_epi32(v, _mm_cvtsi32_si128(n)); }
inline __m128i low_bytes(__m512i v) { return _mm512_cvtepi32_epi8(v); }
#endif

// The 4-channel-interleaved planes of one image, 64 positions per step
// instead of write_quads' 16 per row: whole channel planes are read 64 bytes
// at a time (several rows when they are short), interleaved in 128-bit lanes
// (16 positions each) and stored lane by lane where each lane's row goes.
// Stride 2 splits each lane's even and odd positions between the two column
// phases. Takes the layer when every input position lands inside the padded
// planes, rows are a multiple of 16 positions (or exactly 8 at stride 1, in
// pairs of rows), and the stride is 1 or 2 both ways with every phase plane
// read; returns false otherwise (fill_padded then writes it). A third of the
// time of a 3x3 stride-2 layer went to write_quads.
template <typename TX>
bool fill_quads_wide(const Conv2DParams& p, const PaddedShape& s, const TX* image, std::int64_t quads, std::uint8_t x_code,
                     std::uint8_t* padded) {
  const std::int64_t sh = p.stride_h, sw = p.stride_w;
  if (sh != sw || (sh != 1 && sh != 2)) return false;
  if (!(p.in_w % 16 == 0 || (sh == 1 && p.in_w == 8 && p.in_h % 2 == 0))) return false;
  // Every input row and column inside its phase plane (no clipping needed).
  if ((p.in_h - 1 + p.pad_top) / sh >= s.rows || (p.in_w - 1 + p.pad_left) / sw >= s.cols) return false;
  const std::int64_t positions = p.in_h * p.in_w;
  const __m512i flip = _mm512_set1_epi8(std::is_signed_v<TX> ? static_cast<char>(0x80) : 0);
  const __m512i missing = _mm512_set1_epi8(static_cast<char>(x_code));
  // Stride 2: a lane's 16 quads as [8 even positions | 8 odd positions].
  const __m512i split = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  // Stride 2 with phases no tap reads (a 1x1 layer reads one of four): the
  // row writers visit only the rows and columns read, which is faster.
  if (sh == 2)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        if (!phase_is_read(p, a, b)) return false;
  for (std::int64_t u = 0; u < quads; ++u) {
    const TX* channel[kQuad];
    for (int g = 0; g < kQuad; ++g) {
      const std::int64_t c = u * kQuad + g;
      channel[g] = c < p.in_channels ? image + c * positions : nullptr;
    }
    std::uint8_t* unit = padded + u * sh * sw * s.plane() * kQuad;
    std::int64_t ih = 0, iw = 0;  // the next lane's first position (counted, not divided: that cost half the fill)
    for (std::int64_t base = 0; base < positions; base += 64) {
      const std::int64_t lanes = std::min<std::int64_t>(4, (positions - base) / 16);
      __m512i c[kQuad];
      for (int g = 0; g < kQuad; ++g) {
        if (!channel[g]) {
          c[g] = missing;
          continue;
        }
#ifdef TINYQ_EMULATE_AVX512  // SIMDe 0.7.4 has no masked loads: the same bytes through memory
        alignas(64) std::uint8_t tmp[64] = {};
        std::memcpy(tmp, channel[g] + base, static_cast<std::size_t>(lanes * 16));
        c[g] = _mm512_xor_si512(_mm512_load_si512(tmp), flip);
#else
        const __mmask64 mask = lanes == 4 ? ~__mmask64{0} : (__mmask64{1} << (lanes * 16)) - 1;
        c[g] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, channel[g] + base), flip);
#endif
      }
      const __m512i ab_lo = _mm512_unpacklo_epi8(c[0], c[1]), ab_hi = _mm512_unpackhi_epi8(c[0], c[1]);
      const __m512i cd_lo = _mm512_unpacklo_epi8(c[2], c[3]), cd_hi = _mm512_unpackhi_epi8(c[2], c[3]);
      // q0..q3: in each 128-bit lane k, positions 16k + 0-3, 4-7, 8-11, 12-15 as quads.
      const __m512i q0 = _mm512_unpacklo_epi16(ab_lo, cd_lo), q1 = _mm512_unpackhi_epi16(ab_lo, cd_lo);
      const __m512i q2 = _mm512_unpacklo_epi16(ab_hi, cd_hi), q3 = _mm512_unpackhi_epi16(ab_hi, cd_hi);
      // Transpose the 4 x 4 lanes: out[k] = positions 16k .. 16k + 15, in order.
      const __m512i t0 = _mm512_shuffle_i32x4(q0, q1, 0x44), t1 = _mm512_shuffle_i32x4(q2, q3, 0x44);
      const __m512i t2 = _mm512_shuffle_i32x4(q0, q1, 0xEE), t3 = _mm512_shuffle_i32x4(q2, q3, 0xEE);
      const __m512i out[4] = {_mm512_shuffle_i32x4(t0, t1, 0x88), _mm512_shuffle_i32x4(t0, t1, 0xDD),
                              _mm512_shuffle_i32x4(t2, t3, 0x88), _mm512_shuffle_i32x4(t2, t3, 0xDD)};
      for (std::int64_t k = 0; k < lanes; ++k) {
        const std::int64_t row = ih + p.pad_top, col = iw + p.pad_left;
        if (p.in_w == 8) ih += 2;  // a lane is two rows
        else if ((iw += 16) == p.in_w) iw = 0, ++ih;
        if (sh == 1) {
          std::uint8_t* dst = unit + (row * s.cols + col) * kQuad;
          if (p.in_w >= 16) {
            _mm512_storeu_si512(dst, out[k]);
          } else {  // rows of 8: the lane holds two of them
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_castsi512_si256(out[k]));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + s.cols * kQuad), _mm512_extracti64x4_epi64(out[k], 1));
          }
          continue;
        }
        const std::int64_t a = row % 2;
        const __m512i halves = _mm512_permutexvar_epi32(split, out[k]);
        for (int odd = 0; odd < 2; ++odd) {  // positions iw + odd, iw + odd + 2, ...
          const std::int64_t b = (col + odd) % 2;
          std::uint8_t* dst = unit + ((a * 2 + b) * s.plane() + (row / 2) * s.cols + (col + odd) / 2) * kQuad;
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst),
                              odd ? _mm512_extracti64x4_epi64(halves, 1) : _mm512_castsi512_si256(halves));
        }
      }
    }
  }
  return true;
}

template <typename TX>
constexpr std::uint8_t u8_code(std::int32_t value) {
  return static_cast<std::uint8_t>(std::is_signed_v<TX> ? value + 128 : value);
}

}  // namespace

// Requantizes 16 accumulators of one output channel as requantize_store
// (conv_epilogue_avx2.h) does on two halves of 8, in one 512-bit pass: the
// same float rule (cvtps2dq rounds half to even), or the same fixed-point
// rule in 64-bit lanes (only when the scaled values fit int32,
// ConvRequant::fixed_fits_int32). The constants of a call are
// set up once. The results are in [qmin, qmax], so vpmovdb's truncation to
// a byte is exact for u8 and s8 alike. (Outside the anonymous namespace:
// the kernel's lambdas capture it; this namespace is already per build.)
class WideRequant {
 public:
  explicit WideRequant(const ConvRequant& rq)
      : rq_(rq),
        fixed_(rq.mode == kernels::RequantMode::fixed_point),
        zp_(_mm512_set1_epi32(rq.zero_point)),
        qmin_(_mm512_set1_epi32(rq.qmin)),
        qmax_(_mm512_set1_epi32(rq.qmax)),
        lo_(_mm512_set1_ps(static_cast<float>(rq.qmin - rq.zero_point))),
        hi_(_mm512_set1_ps(static_cast<float>(rq.qmax - rq.zero_point))) {}

  __m128i operator()(std::size_t c, __m512i acc) const { return low_bytes(codes(c, acc)); }

  // The 16 requantized values as int32 lanes, in [qmin, qmax].
  __m512i codes(std::size_t c, __m512i acc) const {
    if (fixed_) {
      const __m512i m0 = _mm512_set1_epi64(rq_.m0[c]);
      const int n = rq_.shift[c];
      const __m512i round = _mm512_set1_epi64(1ll << (n - 1));
      const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(acc, m0), round);
      const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), m0), round);
      // Shifts of 32 or more (nearly every multiplier is below 1/2): the high
      // half of each 64-bit sum is its floor division by 2^32, and one 32-bit
      // arithmetic shift floors that by 2^(n - 32): floor by 2^n in all.
      const __m512i q = n >= 32 ? shift_right_arithmetic32(_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd), n - 32)
                                : _mm512_mask_blend_epi32(0xAAAA, shift_right_arithmetic64(even, n),
                                                          _mm512_slli_epi64(shift_right_arithmetic64(odd, n), 32));
      return _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zp_), qmin_), qmax_);
    }
    const __m512 v = _mm512_mul_ps(to_float(acc), _mm512_set1_ps(rq_.multipliers[c]));
    return _mm512_add_epi32(round_to_int(_mm512_min_ps(_mm512_max_ps(v, lo_), hi_)), zp_);
  }

 private:
  const ConvRequant& rq_;
  bool fixed_;
  __m512i zp_, qmin_, qmax_;
  __m512 lo_, hi_;
};

// Two output channels of a block whose 32 positions are consecutive in the
// output plane (rows of 32, 16 or 8): their four vectors of codes narrowed
// together (pack_codes64), then 32 bytes stored per channel, two stores
// instead of four.
template <typename TY>
inline void store_two_channels(const WideRequant& requantize, std::size_t c, const __m512i (&a)[2], const __m512i (&b)[2], TY* y,
                               std::int64_t plane) {
  const __m512i ordered = pack_codes64<TY>(requantize.codes(c, a[0]), requantize.codes(c, a[1]), requantize.codes(c + 1, b[0]),
                                           requantize.codes(c + 1, b[1]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), _mm512_castsi512_si256(ordered));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + plane), _mm512_extracti64x4_epi64(ordered, 1));
}

template <typename TX, typename TY>
void qlinear_conv(const Conv2DParams& p, const PackedConvVnni& packed, const TX* x, TY* y) {
  const PaddedShape s = padded_shape(p);
  const std::int64_t quads = (p.in_channels + kQuad - 1) / kQuad;
  std::uint8_t* padded = padded_scratch_read_planes<std::uint8_t, kQuad>(p, s, quads, packed.x_code);
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, quads, packed, local_offsets);
  const std::int64_t plane = p.out_h * p.out_w, panel_stride = packed.tap_quads * kVnniPanel * kQuad;
  const std::int64_t panels = round_up(packed.out_channels, kVnniPanel) / kVnniPanel;
  const bool wide_epilogue = packed.requant.mode != kernels::RequantMode::fixed_point || packed.requant.fixed_fits_int32;
  const WideRequant requantize(packed.requant);
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const TX* image = x + n * p.in_channels * p.in_h * p.in_w;
    const TX* image_end = image + p.in_channels * p.in_h * p.in_w;
    TY* out = y + n * packed.out_channels * plane;
    if (!fill_quads_wide(p, s, image, quads, packed.x_code, padded))
      fill_padded<std::uint8_t, kQuad>(
        p, quads, s, padded,
        [&](std::uint8_t* dst, std::int64_t u, std::int64_t ih, std::int64_t iw, std::int64_t count, std::int64_t step) {
          const TX* rows[kQuad];
          unit_rows<kQuad>(p, image, u, ih, iw, rows);
          write_quads<TX>(dst, rows, image_end, packed.x_code, count, step);
        });
    for_each_block<kParts>(p.out_h, p.out_w, s.cols, [&](const Block<kParts>& block) {
      std::int64_t part[kParts];
      for (int i = 0; i < kParts; ++i) part[i] = block.x_offset[i] - block.x_offset[0];
      const Block<2> halves[2] = {half_of(block, 0), half_of(block, 1)};
      const bool paired = part[1] == part[0] + 8 && part[3] == part[2] + 8;
      bool consecutive = wide_epilogue;  // the block's outputs are one run of 32 in each plane
      for (int i = 0; i < kParts; ++i) consecutive = consecutive && block.count[i] == 8 && block.y_offset[i] == block.y_offset[0] + 8 * i;
      for (std::int64_t q = 0; q < panels; ++q) {
        __m512i acc[kVnniPanel][2];
        const std::int8_t* w = packed.weights.data() + q * panel_stride;
        const std::int32_t* bias = packed.requant.bias.data() + q * kVnniPanel;
        if (paired) micro_vnni<true>(offsets, padded + block.x_offset[0] * kQuad, part, w, bias, acc);
        else micro_vnni<false>(offsets, padded + block.x_offset[0] * kQuad, part, w, bias, acc);
        if (consecutive && (q + 1) * kVnniPanel <= packed.out_channels) {
          // Unrolled, so that the accumulators can stay in registers.
          const std::int64_t oc = q * kVnniPanel;
          TY* at = out + oc * plane + block.y_offset[0];
#pragma GCC unroll 4
          for (int r = 0; r < kVnniPanel; r += 2)
            store_two_channels<TY>(requantize, static_cast<std::size_t>(oc + r), acc[r], acc[r + 1], at + r * plane, plane);
          continue;
        }
        for (int r = 0; r < kVnniPanel; ++r) {
          const std::int64_t oc = q * kVnniPanel + r;
          if (oc >= packed.out_channels) break;
          for (int h = 0; h < 2; ++h) {
            if (wide_epilogue)
              store_bytes16<TY>(requantize(static_cast<std::size_t>(oc), acc[r][h]), halves[h], out + oc * plane);
            else  // the scalar 64-bit rule, through the AVX2 store
              requantize_store<TY>(packed.requant, oc, _mm512_castsi512_si256(acc[r][h]), _mm512_extracti64x4_epi64(acc[r][h], 1),
                                   halves[h], out + oc * plane);
          }
        }
      }
    });
  }
}

template void qlinear_conv<std::uint8_t, std::uint8_t>(const Conv2DParams&, const PackedConvVnni&, const std::uint8_t*, std::uint8_t*);
template void qlinear_conv<std::uint8_t, std::int8_t>(const Conv2DParams&, const PackedConvVnni&, const std::uint8_t*, std::int8_t*);
template void qlinear_conv<std::int8_t, std::uint8_t>(const Conv2DParams&, const PackedConvVnni&, const std::int8_t*, std::uint8_t*);
template void qlinear_conv<std::int8_t, std::int8_t>(const Conv2DParams&, const PackedConvVnni&, const std::int8_t*, std::int8_t*);

}  // namespace tinyq::kernels::x86::TINYQ_VNNI_NAMESPACE
