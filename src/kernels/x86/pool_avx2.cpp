// Compiled with -mavx2 -mfma -ffp-contract=off (see src/CMakeLists.txt); the
// header says what it computes.
#include "kernels/x86/pool_avx2.h"

#include <immintrin.h>

#include <cmath>
#include <limits>
#include <type_traits>

namespace tinyq::kernels::x86 {
namespace {

inline std::int64_t clamp_to(std::int64_t v, std::int64_t lo, std::int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The output columns [lo, hi) and rows whose windows lie inside the image.
struct Inside {
  std::int64_t row_lo, row_hi, col_lo, col_hi;
};
inline Inside inside_windows(const Pool2DParams& p) {
  Inside in;
  in.col_lo = clamp_to((p.pad_left + p.stride_w - 1) / p.stride_w, 0, p.out_w);
  in.col_hi = clamp_to(floor_div(p.in_w + p.pad_left - p.kernel_w, p.stride_w) + 1, in.col_lo, p.out_w);
  in.row_lo = clamp_to((p.pad_top + p.stride_h - 1) / p.stride_h, 0, p.out_h);
  in.row_hi = clamp_to(floor_div(p.in_h + p.pad_top - p.kernel_h, p.stride_h) + 1, in.row_lo, p.out_h);
  return in;
}

// Calls vector8(plane, oh, ow) for 8 inside positions at a time (strides 1
// and 2 across) and position(plane, oh, ow) for every other output.
template <typename Vector8, typename Position>
void for_each_output(const Pool2DParams& p, Vector8 vector8, Position position) {
  const Inside in = inside_windows(p);
  const bool vector_columns = p.stride_w == 1 || p.stride_w == 2;
  for (std::int64_t nc = 0; nc < p.batch * p.channels; ++nc)
    for (std::int64_t oh = 0; oh < p.out_h; ++oh) {
      std::int64_t ow = 0;
      if (vector_columns && oh >= in.row_lo && oh < in.row_hi) {
        for (; ow < in.col_lo; ++ow) position(nc, oh, ow);
        for (; ow + 8 <= in.col_hi; ow += 8) vector8(nc, oh, ow);
      }
      for (; ow < p.out_w; ++ow) position(nc, oh, ow);
    }
}

// The window of output (oh, ow), clipped to the image: rows [h0, h1), columns
// [w0, w1), and its area clipped only to the padded extent.
struct Window {
  std::int64_t h0, h1, w0, w1, padded_area;
};
inline Window window_of(const Pool2DParams& p, std::int64_t oh, std::int64_t ow) {
  const std::int64_t top = oh * p.stride_h - p.pad_top, left = ow * p.stride_w - p.pad_left;
  Window w;
  w.h0 = top < 0 ? 0 : top, w.h1 = top + p.kernel_h < p.in_h ? top + p.kernel_h : p.in_h;
  w.w0 = left < 0 ? 0 : left, w.w1 = left + p.kernel_w < p.in_w ? left + p.kernel_w : p.in_w;
  const std::int64_t ph = (top + p.kernel_h < p.in_h + p.pad_bottom ? top + p.kernel_h : p.in_h + p.pad_bottom) - (top > -p.pad_top ? top : -p.pad_top);
  const std::int64_t pw = (left + p.kernel_w < p.in_w + p.pad_right ? left + p.kernel_w : p.in_w + p.pad_right) - (left > -p.pad_left ? left : -p.pad_left);
  w.padded_area = ph * pw;
  return w;
}

// Folds acc = step(acc, 8 values) over the window of outputs (oh, ow .. ow +
// 7) of one plane, row by row and left to right as the reference does; load(row,
// col, stride) reads the 8 values of a tap. Only for windows inside the image.
template <typename T, typename Acc, typename Load, typename Step>
inline Acc fold_window8(const Pool2DParams& p, const T* plane, std::int64_t oh, std::int64_t ow, Acc acc, Load load, Step step) {
  for (std::int64_t kh = 0; kh < p.kernel_h; ++kh)
    for (std::int64_t kw = 0; kw < p.kernel_w; ++kw)
      acc = step(acc, load(plane + (oh * p.stride_h - p.pad_top + kh) * p.in_w, ow * p.stride_w - p.pad_left + kw, p.stride_w));
  return acc;
}

// The same over a (clipped) window, one position at a time.
template <typename T, typename Acc, typename Step>
inline Acc fold_window(const Pool2DParams& p, const T* plane, const Window& w, Acc acc, Step step) {
  for (std::int64_t h = w.h0; h < w.h1; ++h)
    for (std::int64_t c = w.w0; c < w.w1; ++c) acc = step(acc, plane[h * p.in_w + c]);
  return acc;
}

// 8 floats of input row `row` from column `col` in steps of `stride` (1 or
// 2). Reads only the columns it returns and those between (never col + 15:
// that can be past the end of the tensor).
inline __m256 load8_f32(const float* row, std::int64_t col, std::int64_t stride) {
  if (stride == 1) return _mm256_loadu_ps(row + col);
  const __m256i first7 = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0);
  const __m256 a = _mm256_loadu_ps(row + col), b = _mm256_maskload_ps(row + col + 8, first7);  // the even ones of 15
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
}

// 8 codes as int32 of input row `row` from column `col` in steps of 1 or 2.
template <typename T>
inline __m256i load8_codes(const T* row, std::int64_t col, std::int64_t stride) {
  __m128i bytes;
  if (stride == 1) {
    bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + col));
  } else {  // columns col .. col + 7 and col + 7 .. col + 14 (not col + 15: see load8_f32)
    const __m128i a = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + col));
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + col + 7));
    bytes = _mm_or_si128(_mm_shuffle_epi8(a, _mm_setr_epi8(0, 2, 4, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)),
                         _mm_shuffle_epi8(b, _mm_setr_epi8(-1, -1, -1, -1, 1, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1, -1)));
  }
  return std::is_signed_v<T> ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
}

// 8 int32 values in [T's range] as 8 bytes at `dst`.
template <typename T>
inline void store8_codes(T* dst, __m256i v) {
  const __m128i words = std::is_signed_v<T> ? _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1))
                                            : _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i bytes = std::is_signed_v<T> ? _mm_packs_epi16(words, words) : _mm_packus_epi16(words, words);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes);
}

}  // namespace

void average_pool2d_f32_avx2(const Pool2DParams& p, std::span<const float> x, std::span<float> y) {
  const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  // Inside the image the window is whole: the count is its area either way.
  const __m256 area = _mm256_set1_ps(static_cast<float>(p.kernel_h * p.kernel_w));
  for_each_output(
      p,
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const float* in = x.data() + nc * in_plane;
        const __m256 sum = fold_window8(p, in, oh, ow, _mm256_setzero_ps(), load8_f32, [](__m256 a, __m256 v) { return _mm256_add_ps(a, v); });
        _mm256_storeu_ps(y.data() + nc * out_plane + oh * p.out_w + ow, _mm256_div_ps(sum, area));
      },
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const float* in = x.data() + nc * in_plane;
        const Window w = window_of(p, oh, ow);
        const float sum = fold_window(p, in, w, 0.f, [](float a, float v) { return a + v; });
        const std::int64_t count = p.count_include_pad ? w.padded_area : (w.h1 - w.h0) * (w.w1 - w.w0);
        y[nc * out_plane + oh * p.out_w + ow] = count > 0 ? sum / static_cast<float>(count) : 0.f;
      });
}

void max_pool2d_f32_avx2(const Pool2DParams& p, std::span<const float> x, std::span<float> y) {
  const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  for_each_output(
      p,
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const float* in = x.data() + nc * in_plane;
        // max_ps(v, best) keeps best where v is NaN, as std::max(best, v) does.
        const __m256 best = fold_window8(p, in, oh, ow, _mm256_set1_ps(-std::numeric_limits<float>::infinity()), load8_f32,
                                         [](__m256 b, __m256 v) { return _mm256_max_ps(v, b); });
        _mm256_storeu_ps(y.data() + nc * out_plane + oh * p.out_w + ow, best);
      },
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const float* in = x.data() + nc * in_plane;
        const Window w = window_of(p, oh, ow);
        const float best = fold_window(p, in, w, -std::numeric_limits<float>::infinity(), [](float b, float v) { return b < v ? v : b; });
        y[nc * out_plane + oh * p.out_w + ow] = best;
      });
}

template <typename T>
void max_pool2d_quantized_avx2(const Pool2DParams& p, std::span<const T> x, std::span<T> y) {
  const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  for_each_output(
      p,
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const T* in = x.data() + nc * in_plane;
        const __m256i best = fold_window8(p, in, oh, ow, _mm256_set1_epi32(std::numeric_limits<T>::min()), load8_codes<T>,
                                          [](__m256i b, __m256i v) { return _mm256_max_epi32(b, v); });
        store8_codes(y.data() + nc * out_plane + oh * p.out_w + ow, best);
      },
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const T* in = x.data() + nc * in_plane;
        const Window w = window_of(p, oh, ow);
        const T best = fold_window(p, in, w, std::numeric_limits<T>::min(), [](T b, T v) { return b < v ? v : b; });
        y[nc * out_plane + oh * p.out_w + ow] = best;
      });
}

template <typename T>
void qlinear_average_pool2d_avx2(const QAveragePoolParams& q, std::span<const T> x, std::span<T> y) {
  const Pool2DParams& p = q.pool;
  const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  const std::int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  // The reference's expression: x_scale * float(sum - count * x_zp) / divisor,
  // divided by y_scale, rounded half to even, plus y_zp, saturated.
  const auto count = static_cast<std::int32_t>(p.kernel_h * p.kernel_w);
  const __m256 x_scale = _mm256_set1_ps(q.x_scale), y_scale = _mm256_set1_ps(q.y_scale), divisor = _mm256_set1_ps(static_cast<float>(count));
  const __m256i offset = _mm256_set1_epi32(count * q.x_zero_point), y_zp = _mm256_set1_epi32(q.y_zero_point);
  for_each_output(
      p,
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const T* in = x.data() + nc * in_plane;
        const __m256i sum = fold_window8(p, in, oh, ow, _mm256_setzero_si256(), load8_codes<T>, [](__m256i a, __m256i v) { return _mm256_add_epi32(a, v); });
        const __m256 real = _mm256_div_ps(_mm256_mul_ps(x_scale, _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, offset))), divisor);
        const __m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_div_ps(real, y_scale)), y_zp);
        store8_codes(y.data() + nc * out_plane + oh * p.out_w + ow, _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi)));
      },
      [&](std::int64_t nc, std::int64_t oh, std::int64_t ow) {
        const T* in = x.data() + nc * in_plane;
        const Window w = window_of(p, oh, ow);
        std::int32_t sum = 0, n = 0;
        for (std::int64_t h = w.h0; h < w.h1; ++h)
          for (std::int64_t c = w.w0; c < w.w1; ++c) sum += in[h * p.in_w + c], ++n;
        const auto div = static_cast<float>(p.count_include_pad ? w.padded_area : n);
        const float real = q.x_scale * static_cast<float>(sum - n * q.x_zero_point) / div;
        const std::int32_t v = static_cast<std::int32_t>(std::nearbyint(real / q.y_scale)) + q.y_zero_point;
        y[nc * out_plane + oh * p.out_w + ow] = static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
      });
}

template void max_pool2d_quantized_avx2<std::uint8_t>(const Pool2DParams&, std::span<const std::uint8_t>, std::span<std::uint8_t>);
template void max_pool2d_quantized_avx2<std::int8_t>(const Pool2DParams&, std::span<const std::int8_t>, std::span<std::int8_t>);
template void qlinear_average_pool2d_avx2<std::uint8_t>(const QAveragePoolParams&, std::span<const std::uint8_t>, std::span<std::uint8_t>);
template void qlinear_average_pool2d_avx2<std::int8_t>(const QAveragePoolParams&, std::span<const std::int8_t>, std::span<std::int8_t>);

void global_average_pool_f32_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const float> input,
                                  std::span<float> output) {
  for (std::int64_t i = 0; i < batch_channels; ++i) {
    const float* x = input.data() + i * plane;
    __m256 acc = _mm256_setzero_ps();
    std::int64_t j = 0;
    for (; j + 8 <= plane; j += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + j));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; j < plane; ++j) sum += x[j];
    output[i] = sum / static_cast<float>(plane);
  }
}

template <typename T>
void plane_sums_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x, std::span<std::int32_t> sums) {
  // s8 codes + 128 are u8: vpsadbw against 0 sums 8 of them per 64-bit lane;
  // the 128s come off at the end.
  const __m256i flip = _mm256_set1_epi8(std::is_signed_v<T> ? static_cast<char>(0x80) : 0);
  for (std::int64_t i = 0; i < batch_channels; ++i) {
    const T* row = x.data() + i * plane;
    __m256i acc = _mm256_setzero_si256();
    std::int64_t j = 0;
    for (; j + 32 <= plane; j += 32) {
      const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + j)), flip);
      acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, _mm256_setzero_si256()));
    }
    alignas(32) std::int64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
    std::int64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    if constexpr (std::is_signed_v<T>) sum -= 128 * j;
    for (; j < plane; ++j) sum += row[j];
    sums[i] = static_cast<std::int32_t>(sum);
  }
}

template void plane_sums_avx2<std::uint8_t>(std::int64_t, std::int64_t, std::span<const std::uint8_t>, std::span<std::int32_t>);
template void plane_sums_avx2<std::int8_t>(std::int64_t, std::int64_t, std::span<const std::int8_t>, std::span<std::int32_t>);

}  // namespace tinyq::kernels::x86
