#pragma once
// The padded-image layout shared by the x86 convolution kernels (conv_avx2,
// conv_avx512_vnni): phase planes, tap offsets, blocks of output positions,
// and the writers that fill the planes (SSE2 only, the x86-64 baseline).
//
// Everything here has internal linkage on purpose: each kernel file is
// compiled with its own ISA flags, and an inline function with external
// linkage compiled in an AVX-512 file could be the copy the linker keeps for
// the AVX2 file too, which would then fault on a CPU without AVX-512.
#include <emmintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/reference/conv.h"

namespace tinyq::kernels::x86 {

// Defined in conv_pack.cpp, which has no ISA flags: code that grows
// std::vectors stays out of the kernel files (see there).
void* scratch_buffer(std::size_t bytes);  // per thread, at least `bytes`, max_align_t-aligned
std::vector<std::int64_t> conv_tap_offsets(const Conv2DParams& p, std::int64_t units);  // tap_offsets below
std::vector<std::int64_t> depthwise_tap_offsets(const Conv2DParams& p);  // one channel's, padded to an even count

namespace {  // NOLINT: internal linkage per ISA-specific translation unit (see above)

constexpr std::int64_t kPart = 8;  // output positions per part of a block (see Block)

inline std::int64_t round_up(std::int64_t v, std::int64_t to) { return (v + to - 1) / to * to; }
// Ceiling division for any sign of the numerator (positive divisor).
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Per-thread scratch for the padded image (scratch_buffer, conv_pack.cpp).
template <typename T>
T* scratch(std::size_t count) {
  return static_cast<T*>(scratch_buffer(count * sizeof(T)));
}

// The zero-bordered copy of one image, split into stride_h x stride_w phase
// planes: plane (a, b) holds padded rows a, a + sH, ... and columns b, b + sW,
// ... So for every stride, tap (kh, kw) of outputs (oh, ow .. ow + 15) is one
// contiguous run in one plane: no im2col. Plane (a, b) of channel unit u is
// plane number (u * sH + a) * sW + b; each plane is rows x cols elements.
struct PaddedShape {
  std::int64_t stride_h, stride_w, rows, cols;
  std::int64_t plane() const { return rows * cols; }
};
// Columns: the output width, the kernel's reach, and the slack a row's last
// part needs when out_w is not a multiple of 8 (it reads, and discards, up
// to 8 - out_w % 8 positions past the row's end). No slack for the usual
// widths (32, 16, 8): every column filled per image is read.
inline PaddedShape padded_shape(const Conv2DParams& p) {
  const std::int64_t slack = (kPart - p.out_w % kPart) % kPart;
  return {p.stride_h, p.stride_w, p.out_h + ceil_div((p.kernel_h - 1) * p.dilation_h, p.stride_h),
          p.out_w + ceil_div((p.kernel_w - 1) * p.dilation_w, p.stride_w) + slack};
}

// Elements to allocate for `units` channel units of G interleaved channels:
// one extra row, because the second half of a block that pairs two output
// rows reads one row past the last plane when out_h is odd (and discards it).
inline std::size_t padded_elements(const PaddedShape& s, std::int64_t units, int G) {
  return static_cast<std::size_t>((units * s.stride_h * s.stride_w * s.plane() + s.cols) * G);
}

// Offset (in positions) of tap (unit, kh, kw) from the output position's own
// offset oh * cols + ow, for every tap in (unit, kh, kw) order.
inline std::vector<std::int64_t> tap_offsets(const Conv2DParams& p, const PaddedShape& s, std::int64_t units) {
  std::vector<std::int64_t> offsets;
  offsets.reserve(static_cast<std::size_t>(units * p.kernel_h * p.kernel_w));
  for (std::int64_t u = 0; u < units; ++u)
    for (std::int64_t kh = 0; kh < p.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < p.kernel_w; ++kw) {
        const std::int64_t fr = kh * p.dilation_h, fc = kw * p.dilation_w;
        const std::int64_t plane = (u * s.stride_h + fr % s.stride_h) * s.stride_w + fc % s.stride_w;
        offsets.push_back(plane * s.plane() + (fr / s.stride_h) * s.cols + fc / s.stride_w);
      }
  return offsets;
}

// Whether some tap reads phase plane (a, b).
inline bool phase_is_read(const Conv2DParams& p, std::int64_t a, std::int64_t b) {
  bool row = false, col = false;
  for (std::int64_t kh = 0; kh < p.kernel_h; ++kh) row = row || (kh * p.dilation_h) % p.stride_h == a;
  for (std::int64_t kw = 0; kw < p.kernel_w; ++kw) col = col || (kw * p.dilation_w) % p.stride_w == b;
  return row && col;
}

inline bool same_sizes(const Conv2DParams& a, const Conv2DParams& b) {
  return a.in_h == b.in_h && a.in_w == b.in_w && a.out_h == b.out_h && a.out_w == b.out_w;
}

// The tap offsets precomputed at pack time when the run's sizes are the
// packed ones (the usual case); otherwise computed into `local`.
template <typename Packed>
const std::vector<std::int64_t>& offsets_for(const Conv2DParams& p, std::int64_t units, const Packed& packed,
                                             std::vector<std::int64_t>& local) {
  if (!packed.tap_offsets.empty() && same_sizes(p, packed.geometry)) return packed.tap_offsets;
  local = conv_tap_offsets(p, units);
  return local;
}

inline bool sizes_known(const Conv2DParams& g) { return g.in_h > 0 && g.in_w > 0 && g.out_h > 0 && g.out_w > 0; }

// How many taps ONNX Runtime's SGEMM (MLAS) sums in one slice before adding
// the slice to the output, for a GEMM of n output positions and k taps: MLAS
// starts from 128 x 128 slices and trades the two strides while the other
// dimension is small. Summing in the same slices (each from zero, then added)
// makes tinyq's float convolutions round as ONNX Runtime's do where it runs
// them through im2col + SGEMM (e.g. the float Conv of an s8 QDQ model).
inline std::int64_t mlas_sgemm_stride_k(std::int64_t n, std::int64_t k) {
  std::int64_t stride_n = 128, stride_k = 128;
  if (n >= k) {
    while (stride_k / 2 >= k) stride_n *= 2, stride_k /= 2;
  } else {
    while (stride_n > 16 && stride_n / 2 >= n) stride_k *= 2, stride_n /= 2;
  }
  return stride_k;
}

// The padded image's buffer for one kernel call (per-thread scratch), set
// to `border` throughout. fill_padded below writes only the image's interior:
// the same positions for every image of the call, so the border is written
// once per call rather than a few elements at a time per row and image.
// `extra`: further elements after the image, left as they are.
template <typename Out>
Out* padded_scratch(std::size_t elements, Out border, std::size_t extra = 0) {
  Out* buffer = scratch<Out>(elements + extra);
  for (std::size_t i = 0; i < elements; ++i) buffer[i] = border;  // a plain loop: no std:: instantiation in an ISA file
  return buffer;
}

// padded_scratch for the planes some tap reads: those set to `border`, the
// others (3 of the 4 planes of a 1x1 stride-2 layer) left as they are, and
// the extra row after the last plane set too. Whatever a block reads of an
// unread plane (past a read plane's end) lands only in lanes it discards.
// (Clearing every plane was a fifth of a 1x1 stride-2 layer.)
template <typename Out, int G>
Out* padded_scratch_read_planes(const Conv2DParams& p, const PaddedShape& s, std::int64_t units, Out border) {
  const std::size_t elements = padded_elements(s, units, G), plane = static_cast<std::size_t>(s.plane() * G);
  Out* buffer = scratch<Out>(elements);
  auto clear = [&](std::size_t from, std::size_t count) {
    for (std::size_t i = from; i < from + count; ++i) buffer[i] = border;  // a plain loop, as in padded_scratch
  };
  for (std::int64_t u = 0; u < units; ++u)
    for (std::int64_t a = 0; a < s.stride_h; ++a)
      for (std::int64_t b = 0; b < s.stride_w; ++b)
        if (phase_is_read(p, a, b)) clear(static_cast<std::size_t>((u * s.stride_h + a) * s.stride_w + b) * plane, plane);
  clear(elements - static_cast<std::size_t>(s.cols * G), static_cast<std::size_t>(s.cols * G));
  return buffer;
}

// Fills the interior of the phase planes of `units` channel units (G
// channels interleaved per position) of a buffer from padded_scratch: what
// write_row(dst, unit, ih, iw, count, step) writes, `count` positions of
// input row ih from column iw in steps of `step` (the stride; 1 for most
// planes, where the row writers below use vector code).
template <typename Out, int G, typename WriteRow>
void fill_padded(const Conv2DParams& p, std::int64_t units, const PaddedShape& s, Out* dst, WriteRow write_row) {
  for (std::int64_t u = 0; u < units; ++u)
    for (std::int64_t a = 0; a < s.stride_h; ++a)
      for (std::int64_t b = 0; b < s.stride_w; ++b) {
        if (!phase_is_read(p, a, b)) continue;  // e.g. 3 of the 4 planes of a 1x1 stride-2 conv
        Out* plane = dst + ((u * s.stride_h + a) * s.stride_w + b) * s.plane() * G;
        // Columns c with 0 <= c * sW + b - pad_left < in_w; rows likewise.
        const std::int64_t lo = std::clamp<std::int64_t>(ceil_div(p.pad_left - b, s.stride_w), 0, s.cols);
        const std::int64_t hi = std::clamp<std::int64_t>(ceil_div(p.in_w + p.pad_left - b, s.stride_w), lo, s.cols);
        if (hi == lo) continue;
        const std::int64_t first = std::clamp<std::int64_t>(ceil_div(p.pad_top - a, s.stride_h), 0, s.rows);
        const std::int64_t last = std::clamp<std::int64_t>(ceil_div(p.in_h + p.pad_top - a, s.stride_h), first, s.rows);
        for (std::int64_t r = first; r < last; ++r)
          write_row(plane + (r * s.cols + lo) * G, u, r * s.stride_h + a - p.pad_top, lo * s.stride_w + b - p.pad_left, hi - lo,
                    s.stride_w);
      }
}

// Row writers for fill_padded. src[g]: channel g's input row at the first
// column, nullptr for a channel past the last one.

// The float kernels' padded image of `channels` planes of an NCHW image (all
// of them for a convolution, one at a time for a depthwise one): one channel
// per unit, into a buffer from padded_scratch with border 0. Step 1 copies
// 4 floats at a time; step 2 takes the even floats of 8 with one shuffle,
// stopping while the 8 read end inside the row (the last few are copied).
inline void fill_padded_floats(const Conv2DParams& p, const PaddedShape& s, const float* image, std::int64_t channels,
                               float* padded) {
  fill_padded<float, 1>(p, channels, s, padded,
                        [&](float* dst, std::int64_t c, std::int64_t ih, std::int64_t iw, std::int64_t count, std::int64_t step) {
                          const float* src = image + (c * p.in_h + ih) * p.in_w + iw;
                          std::int64_t i = 0;
                          if (step == 1)  // inline: a memmove call per row of 8-32 floats costs more than the copy
                            for (; i + 4 <= count; i += 4) _mm_storeu_ps(dst + i, _mm_loadu_ps(src + i));
                          else if (step == 2)
                            for (; i + 4 < count; i += 4)
                              _mm_storeu_ps(dst + i, _mm_shuffle_ps(_mm_loadu_ps(src + 2 * i), _mm_loadu_ps(src + 2 * i + 4),
                                                                    _MM_SHUFFLE(2, 0, 2, 0)));
                          for (; i < count; ++i) dst[i] = src[i * step];
                        });
}

// The row writers below take 8 or 16 positions at a time for steps 1 and 2
// (every stride-1 and stride-2 plane) up to the row's end. Their loads may
// read past the last position a row needs (into the next row: the bytes are
// loaded, never stored), but never past `end`, the end of the image: a load
// that would goes through a small zeroed copy (rare: the image's last row).
// A partial vector is stored through a copy too, so nothing outside the
// row's positions in `dst` is written.

// Up to 16 bytes from `at`, of which only the first `valid` may be read (the
// rest are 0).
inline __m128i load_bounded(const void* at, std::int64_t valid) {
  if (valid >= 16) return _mm_loadu_si128(static_cast<const __m128i*>(at));
  alignas(16) unsigned char tmp[16] = {};
  if (valid > 0) std::memcpy(tmp, at, static_cast<std::size_t>(valid));
  return _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
}

// Stores `n` vectors of 16 bytes at `dst`, only the first `bytes` of them.
template <int N>
void store_bounded(void* dst, const __m128i (&v)[N], std::int64_t bytes) {
  if (bytes >= 16 * N) {
    for (int k = 0; k < N; ++k) _mm_storeu_si128(static_cast<__m128i*>(dst) + k, v[k]);
    return;
  }
  alignas(16) unsigned char tmp[16 * N];
  for (int k = 0; k < N; ++k) _mm_store_si128(reinterpret_cast<__m128i*>(tmp) + k, v[k]);
  std::memcpy(dst, tmp, static_cast<std::size_t>(bytes));
}

// 8 values as int16 from `at`, every `step`-th byte for step 1 or 2, not
// reading at or past `end`.
template <typename TX>
__m128i load8_words(const TX* at, std::int64_t step, const TX* end) {
  const std::int64_t valid = end - at;
  if (step == 1) {
    const __m128i bytes = valid >= 8 ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at)) : load_bounded(at, valid);
    return std::is_signed_v<TX> ? _mm_srai_epi16(_mm_unpacklo_epi8(bytes, bytes), 8) : _mm_unpacklo_epi8(bytes, _mm_setzero_si128());
  }
  const __m128i bytes = load_bounded(at, valid);
  return std::is_signed_v<TX> ? _mm_srai_epi16(_mm_slli_epi16(bytes, 8), 8) : _mm_and_si128(bytes, _mm_set1_epi16(0xFF));
}

// x - x_zp as int16, 2 channels interleaved (conv_avx2's integer layout);
// a missing channel is 0.
template <typename TX>
void write_pairs(std::int16_t* dst, const TX* const (&src)[2], const TX* end, std::int32_t x_zp, std::int64_t count,
                 std::int64_t step) {
  std::int64_t i = 0;
  if (step <= 2) {
    const __m128i zp = _mm_set1_epi16(static_cast<std::int16_t>(x_zp)), zero = _mm_setzero_si128();
    for (; i < count; i += 8) {
      auto widen = [&](const TX* row) { return row ? _mm_sub_epi16(load8_words(row + i * step, step, end), zp) : zero; };
      const __m128i a = widen(src[0]), b = widen(src[1]);
      const __m128i v[2] = {_mm_unpacklo_epi16(a, b), _mm_unpackhi_epi16(a, b)};
      store_bounded(dst + 2 * i, v, 4 * std::min<std::int64_t>(8, count - i));
    }
    return;
  }
  for (; i < count; ++i)
    for (int g = 0; g < 2; ++g)
      dst[2 * i + g] = src[g] ? static_cast<std::int16_t>(static_cast<std::int32_t>(src[g][i * step]) - x_zp) : std::int16_t{0};
}

// x - x_zp as int16, one channel (the depthwise kernel's layout).
template <typename TX>
void write_words(std::int16_t* dst, const TX* src, const TX* end, std::int32_t x_zp, std::int64_t count, std::int64_t step) {
  std::int64_t i = 0;
  if (step <= 2) {
    const __m128i zp = _mm_set1_epi16(static_cast<std::int16_t>(x_zp));
    for (; i < count; i += 8) {
      const __m128i v[1] = {_mm_sub_epi16(load8_words(src + i * step, step, end), zp)};
      store_bounded(dst + i, v, 2 * std::min<std::int64_t>(8, count - i));
    }
    return;
  }
  for (; i < count; ++i) dst[i] = static_cast<std::int16_t>(static_cast<std::int32_t>(src[i * step]) - x_zp);
}

// u8 codes (s8 values + 128), 4 channels interleaved (conv_avx512_vnni's
// layout); a missing channel is `missing`.
template <typename TX>
void write_quads(std::uint8_t* dst, const TX* const (&src)[4], const TX* end, std::uint8_t missing, std::int64_t count,
                 std::int64_t step) {
  std::int64_t i = 0;
  if (step <= 2) {
    const __m128i flip = _mm_set1_epi8(std::is_signed_v<TX> ? static_cast<char>(0x80) : 0), fill = _mm_set1_epi8(static_cast<char>(missing));
    for (; i < count; i += 16) {
      auto load = [&](const TX* row) {  // 16 codes (step 2: the even bytes of 32)
        if (!row) return fill;
        const TX* at = row + i * step;
        if (step == 1) return _mm_xor_si128(load_bounded(at, end - at), flip);
        const __m128i even = _mm_set1_epi16(0xFF);
        const __m128i lo = _mm_and_si128(load_bounded(at, end - at), even);
        const __m128i hi = _mm_and_si128(load_bounded(at + 16, end - at - 16), even);
        return _mm_xor_si128(_mm_packus_epi16(lo, hi), flip);
      };
      const __m128i c0 = load(src[0]), c1 = load(src[1]), c2 = load(src[2]), c3 = load(src[3]);
      const __m128i ab_lo = _mm_unpacklo_epi8(c0, c1), ab_hi = _mm_unpackhi_epi8(c0, c1);
      const __m128i cd_lo = _mm_unpacklo_epi8(c2, c3), cd_hi = _mm_unpackhi_epi8(c2, c3);
      const __m128i v[4] = {_mm_unpacklo_epi16(ab_lo, cd_lo), _mm_unpackhi_epi16(ab_lo, cd_lo), _mm_unpacklo_epi16(ab_hi, cd_hi),
                            _mm_unpackhi_epi16(ab_hi, cd_hi)};
      store_bounded(dst + 4 * i, v, 4 * std::min<std::int64_t>(16, count - i));
    }
    return;
  }
  auto code = [](TX v) { return static_cast<std::uint8_t>(std::is_signed_v<TX> ? static_cast<std::int32_t>(v) + 128 : v); };
  for (; i < count; ++i)
    for (int g = 0; g < 4; ++g) dst[4 * i + g] = src[g] ? code(src[g][i * step]) : missing;
}

// The rows of channel unit u (channels u * G ...) at (ih, iw) of one NCHW image.
template <int G, typename T>
void unit_rows(const Conv2DParams& p, const T* image, std::int64_t u, std::int64_t ih, std::int64_t iw, const T* (&rows)[G]) {
  for (int g = 0; g < G; ++g) {
    const std::int64_t c = u * G + g;
    rows[g] = c < p.in_channels ? image + (c * p.in_h + ih) * p.in_w + iw : nullptr;
  }
}

// A block is P parts of up to 8 consecutive output positions of one row each,
// computed together by one micro-kernel call so that every weight loaded
// serves P * 8 positions. Parts are taken in row-major order over the output
// plane, 8 positions at a time, so a block may span rows (narrow images).
template <int P>
struct Block {
  std::int64_t x_offset[P];  // each part's first position in the padded image
  std::int64_t y_offset[P];  // ... and in the output plane
  std::int64_t count[P];     // valid positions per part (0..8; 0 for padding parts)
};

// Calls f(block) for every block of P parts of an out_h x out_w output; `cols`
// is the padded row length. The last block's missing parts repeat its first
// part with count 0 (computed, never stored).
template <int P, typename F>
void for_each_block(std::int64_t out_h, std::int64_t out_w, std::int64_t cols, F f) {
  Block<P> block{};
  int filled = 0;
  for (std::int64_t oh = 0; oh < out_h; ++oh)
    for (std::int64_t ow = 0; ow < out_w; ow += 8) {
      block.x_offset[filled] = oh * cols + ow;
      block.y_offset[filled] = oh * out_w + ow;
      block.count[filled] = std::min<std::int64_t>(8, out_w - ow);
      if (++filled == P) {
        f(block);
        filled = 0;
      }
    }
  if (filled == 0) return;
  for (int i = filled; i < P; ++i) block.x_offset[i] = block.x_offset[0], block.y_offset[i] = block.y_offset[0], block.count[i] = 0;
  f(block);
}

// Parts (2h, 2h + 1) of a block of 4 parts, as a block of 2 (what the
// requantizing store takes).
inline Block<2> half_of(const Block<4>& block, int h) {
  Block<2> half{};
  for (int i = 0; i < 2; ++i) {
    half.x_offset[i] = block.x_offset[2 * h + i];
    half.y_offset[i] = block.y_offset[2 * h + i];
    half.count[i] = block.count[2 * h + i];
  }
  return half;
}

}  // namespace
}  // namespace tinyq::kernels::x86
