// Compiled with -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl (see
// src/CMakeLists.txt); the header says how it works. Compiled again on
// SIMDe's portable intrinsics (conv_avx512_emulated.cpp) for the tests.
#include "kernels/x86/avx512_build.h"  // first: it selects the intrinsics

#include <algorithm>

#include "kernels/x86/conv_avx512.h"
#include "kernels/x86/conv_layout.h"

namespace tinyq::kernels::x86::TINYQ_AVX512_NAMESPACE {
namespace {

constexpr int kParts = 4;  // a block: 4 parts of 8 positions = two vectors of 16 floats

// 16 positions from two parts of 8.
inline __m512 load_two_parts(const float* x, std::int64_t first, std::int64_t second) {
  const __m512d lo = _mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(x + first)));
  return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_loadu_ps(x + second)), 1));
}

// The activation, then the valid positions of parts (2h, 2h + 1) of a block.
inline void store_two_parts(__m512 v, const Activation& act, const Block<kParts>& block, int h, float* plane) {
  if (act.kind == Activation::Kind::relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
  else if (act.kind == Activation::Kind::clip) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(act.min)), _mm512_set1_ps(act.max));
  const int a = 2 * h, b = 2 * h + 1;
  if (block.count[a] == 8 && block.count[b] == 8 && block.y_offset[b] == block.y_offset[a] + 8)
    return _mm512_storeu_ps(plane + block.y_offset[a], v);
  alignas(64) float tmp[16];
  _mm512_store_ps(tmp, v);
  for (int i = 0; i < 2; ++i)
    std::copy(tmp + 8 * i, tmp + 8 * i + block.count[a + i], plane + block.y_offset[a + i]);
}

// Q panels (4 channels each, Q = 1 or 2) x one block (32 positions), summed
// in conv_avx2's order (see micro_f32 there): slices of `slice` taps from
// zero, added in order, bias last. Two panels give 16 independent
// accumulator chains, enough to cover the FMA latency (each output's own
// chain must stay one chain: its rounding order is fixed).
// kPairedParts: parts 0-1 and 2-3 adjacent in the row.
template <int Q, bool kPairedParts>
inline void micro_f32(const std::vector<std::int64_t>& offsets, std::int64_t slice, const float* x,
                      const std::int64_t (&part)[kParts], const float* w, std::int64_t panel_stride, const float* bias,
                      __m512 (&out)[Q * kConvPanel][2]) {
  constexpr int R = Q * kConvPanel;
  __m512 total[R][2];  // locals until the end: see conv_avx2
  for (int r = 0; r < R; ++r) total[r][0] = total[r][1] = _mm512_setzero_ps();
  const std::int64_t taps = static_cast<std::int64_t>(offsets.size());
  for (std::int64_t first = 0; first < taps; first += slice) {
    const std::int64_t last = std::min(taps, first + slice);
    __m512 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const float* wk = w + first * kConvPanel;
    for (std::int64_t j = first; j < last; ++j, wk += kConvPanel) {
      const float* xj = x + offsets[static_cast<std::size_t>(j)];
      __m512 x0, x1;
      if constexpr (kPairedParts) {
        x0 = _mm512_loadu_ps(xj + part[0]);
        x1 = _mm512_loadu_ps(xj + part[2]);
      } else {
        x0 = load_two_parts(xj, part[0], part[1]);
        x1 = load_two_parts(xj, part[2], part[3]);
      }
      for (int r = 0; r < R; ++r) {
        const __m512 wv = _mm512_set1_ps(wk[(r / kConvPanel) * panel_stride + r % kConvPanel]);
        acc[r][0] = _mm512_fmadd_ps(wv, x0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(wv, x1, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < 2; ++h) total[r][h] = _mm512_add_ps(acc[r][h], total[r][h]);
  }
  for (int r = 0; r < R; ++r) {
    const __m512 b = _mm512_set1_ps(bias[r]);
    for (int h = 0; h < 2; ++h) out[r][h] = _mm512_add_ps(total[r][h], b);
  }
}

// Runs micro_f32 for Q panels from panel q and stores their channels.
template <int Q>
void panels_f32(const Conv2DParams& p, const PackedConvF32& packed, const std::vector<std::int64_t>& offsets, std::int64_t slice,
                const float* padded, const Block<kParts>& block, std::int64_t q, float* out) {
  std::int64_t part[kParts];
  for (int i = 0; i < kParts; ++i) part[i] = block.x_offset[i] - block.x_offset[0];
  const bool paired = part[1] == part[0] + 8 && part[3] == part[2] + 8;
  const std::int64_t panel_stride = packed.taps * kConvPanel, plane = p.out_h * p.out_w;
  const float* w = packed.weights.data() + q * panel_stride;
  const float* bias = packed.bias.data() + q * kConvPanel;
  __m512 acc[Q * kConvPanel][2];
  if (paired) micro_f32<Q, true>(offsets, slice, padded + block.x_offset[0], part, w, panel_stride, bias, acc);
  else micro_f32<Q, false>(offsets, slice, padded + block.x_offset[0], part, w, panel_stride, bias, acc);
  for (int r = 0; r < Q * kConvPanel; ++r) {
    const std::int64_t oc = q * kConvPanel + r;
    if (oc >= packed.out_channels) break;
    for (int h = 0; h < 2; ++h) store_two_parts(acc[r][h], packed.activation, block, h, out + oc * plane);
  }
}

// The lanes 0 .. k - 1 (k clamped to 0..16).
inline __mmask16 first_lanes(std::int64_t k) {
  return k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>(k <= 0 ? 0u : (1u << k) - 1);
}

#ifdef TINYQ_EMULATE_AVX512
// SIMDe 0.7.4 has no masked loads and stores: the SSE2 copy (the same data).
inline void fill_padded_wide(const Conv2DParams& p, const PaddedShape& s, const float* image, float* padded) {
  fill_padded_floats(p, s, image, p.in_channels, padded);
}
#else
// fill_padded_floats with 16 floats per store: a row's end is loaded and
// stored under a mask, so nothing past the row is read or written. Step 2
// takes the even floats of 32 with one vpermt2ps. (The copy was a quarter
// of a stride-2 layer's time with 4-float stores.)
inline void fill_padded_wide(const Conv2DParams& p, const PaddedShape& s, const float* image, float* padded) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  fill_padded<float, 1>(p, p.in_channels, s, padded,
                        [&](float* dst, std::int64_t c, std::int64_t ih, std::int64_t iw, std::int64_t count, std::int64_t step) {
                          const float* src = image + (c * p.in_h + ih) * p.in_w + iw;
                          if (step > 2) {
                            for (std::int64_t i = 0; i < count; ++i) dst[i] = src[i * step];
                            return;
                          }
                          for (std::int64_t i = 0; i < count; i += 16) {
                            const __mmask16 out = first_lanes(count - i);
                            __m512 v;
                            if (step == 1) {
                              v = _mm512_maskz_loadu_ps(out, src + i);
                            } else {
                              const std::int64_t readable = 2 * (count - i) - 1;  // through the row's last position
                              const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(readable), src + 2 * i);
                              const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(readable - 16), src + 2 * i + 16);
                              v = _mm512_permutex2var_ps(lo, evens, hi);
                            }
                            _mm512_mask_storeu_ps(dst + i, out, v);
                          }
                        });
}

// Stride 2 across: one pass over an input row fills both column phases (its
// even floats go to one plane, its odd ones to the other) instead of reading
// the row once per plane; the copy was a quarter of a stride-2 layer.
// Input column iw is padded column x = iw + pad_left: plane x % 2, column x / 2.
inline void fill_padded_stride2(const Conv2DParams& p, const PaddedShape& s, const float* image, float* padded) {
  const __m512i picks[2] = {_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                            _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)};
  std::int64_t plane_of[2], column_of[2], count[2];  // per parity e of iw
  for (int e = 0; e < 2; ++e) {
    plane_of[e] = (e + p.pad_left) % 2;
    column_of[e] = (e + p.pad_left) / 2;
    count[e] = std::max<std::int64_t>(0, std::min((p.in_w - e + 1) / 2, s.cols - column_of[e]));
  }
  const std::int64_t widest = std::max(count[0], count[1]);
  for (std::int64_t a = 0; a < s.stride_h; ++a) {
    bool wanted[2];
    for (int e = 0; e < 2; ++e) wanted[e] = phase_is_read(p, a, plane_of[e]) && count[e] > 0;
    if (!wanted[0] && !wanted[1]) continue;
    const std::int64_t first = std::clamp<std::int64_t>(ceil_div(p.pad_top - a, s.stride_h), 0, s.rows);
    const std::int64_t last = std::clamp<std::int64_t>(ceil_div(p.in_h + p.pad_top - a, s.stride_h), first, s.rows);
    for (std::int64_t c = 0; c < p.in_channels; ++c) {
      const float* src = image + (c * p.in_h + first * s.stride_h + a - p.pad_top) * p.in_w;
      float* dst[2];
      for (int e = 0; e < 2; ++e)
        dst[e] = padded + ((c * s.stride_h + a) * s.stride_w + plane_of[e]) * s.plane() + first * s.cols + column_of[e];
      if (widest <= 16) {  // one vector a row (images up to 32 wide): masks and pointers set once per plane
        const __mmask16 lo_lanes = first_lanes(p.in_w), hi_lanes = first_lanes(p.in_w - 16);
        const __mmask16 out_lanes[2] = {wanted[0] ? first_lanes(count[0]) : __mmask16{0},
                                        wanted[1] ? first_lanes(count[1]) : __mmask16{0}};
        for (std::int64_t r = first; r < last; ++r, src += s.stride_h * p.in_w, dst[0] += s.cols, dst[1] += s.cols) {
          const __m512 lo = _mm512_maskz_loadu_ps(lo_lanes, src), hi = _mm512_maskz_loadu_ps(hi_lanes, src + 16);
          _mm512_mask_storeu_ps(dst[0], out_lanes[0], _mm512_permutex2var_ps(lo, picks[0], hi));
          _mm512_mask_storeu_ps(dst[1], out_lanes[1], _mm512_permutex2var_ps(lo, picks[1], hi));
        }
        continue;
      }
      for (std::int64_t r = first; r < last; ++r, src += s.stride_h * p.in_w, dst[0] += s.cols, dst[1] += s.cols)
        for (std::int64_t i = 0; i < widest; i += 16) {
          const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(p.in_w - 2 * i), src + 2 * i);
          const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(p.in_w - 2 * i - 16), src + 2 * i + 16);
          for (int e = 0; e < 2; ++e)
            if (wanted[e] && i < count[e])
              _mm512_mask_storeu_ps(dst[e] + i, first_lanes(count[e] - i), _mm512_permutex2var_ps(lo, picks[e], hi));
        }
    }
  }
}
#endif

}  // namespace

void conv2d_f32(const Conv2DParams& p, const PackedConvF32& packed, const float* x, float* y) {
  // A single output position is a matrix-vector product, which conv_avx2
  // sums in ONNX Runtime's M=1 order: no wide vectors to gain there.
  if (p.out_h * p.out_w == 1) return conv2d_f32_avx2(p, packed, x, y);
  const PaddedShape s = padded_shape(p);
  float* padded = padded_scratch_read_planes<float, 1>(p, s, p.in_channels, 0.f);
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, p.in_channels, packed, local_offsets);
  const std::int64_t plane = p.out_h * p.out_w;
  const std::int64_t slice = mlas_sgemm_stride_k(plane, packed.taps);
  const std::int64_t panels = round_up(packed.out_channels, kConvPanel) / kConvPanel;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const float* image = x + n * p.in_channels * p.in_h * p.in_w;
    float* out = y + n * packed.out_channels * plane;
#ifdef TINYQ_EMULATE_AVX512
    fill_padded_wide(p, s, image, padded);
#else
    if (p.stride_w == 2) fill_padded_stride2(p, s, image, padded);
    else fill_padded_wide(p, s, image, padded);
#endif
    for_each_block<kParts>(p.out_h, p.out_w, s.cols, [&](const Block<kParts>& block) {
      std::int64_t q = 0;
      for (; q + 2 <= panels; q += 2) panels_f32<2>(p, packed, offsets, slice, padded, block, q, out);
      if (q < panels) panels_f32<1>(p, packed, offsets, slice, padded, block, q, out);
    });
  }
}

}  // namespace tinyq::kernels::x86::TINYQ_AVX512_NAMESPACE
