// Compiled with -mavx2 -mfma (see src/CMakeLists.txt); the header says how it works.
#include "kernels/x86/conv_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#include "core/error.h"
#include "kernels/x86/simd_avx2.h"

namespace tinyq::kernels::x86 {
namespace {

constexpr std::int64_t kLanes = 16;  // output positions per full micro-kernel block
constexpr std::int64_t kSlack = 16;  // extra zero columns so a row's last block may read past its end
constexpr int kF32Parts = 2;         // float blocks: 4 channels x 16 positions (3 parts spill registers: measured slower)

std::int64_t round_up(std::int64_t v, std::int64_t to) { return (v + to - 1) / to * to; }
// Ceiling division for any sign of the numerator (positive divisor).
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Per-thread scratch for the padded image: grows to the largest layer once.
template <typename T>
T* scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.assign(count, T{0});
  return buffer.data();
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
PaddedShape padded_shape(const Conv2DParams& p) {
  return {p.stride_h, p.stride_w, p.out_h + ceil_div((p.kernel_h - 1) * p.dilation_h, p.stride_h),
          p.out_w + ceil_div((p.kernel_w - 1) * p.dilation_w, p.stride_w) + kSlack};
}

// Elements to allocate for `units` channel units of G interleaved channels:
// one extra row, because the second half of a block that pairs two output
// rows reads one row past the last plane when out_h is odd (and discards it).
std::size_t padded_elements(const PaddedShape& s, std::int64_t units, int G) {
  return static_cast<std::size_t>((units * s.stride_h * s.stride_w * s.plane() + s.cols) * G);
}

// Offset (in positions) of tap (unit, kh, kw) from the output position's own
// offset oh * cols + ow, for every tap in (unit, kh, kw) order.
std::vector<std::int64_t> tap_offsets(const Conv2DParams& p, const PaddedShape& s, std::int64_t units) {
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
bool phase_is_read(const Conv2DParams& p, std::int64_t a, std::int64_t b) {
  bool row = false, col = false;
  for (std::int64_t kh = 0; kh < p.kernel_h; ++kh) row = row || (kh * p.dilation_h) % p.stride_h == a;
  for (std::int64_t kw = 0; kw < p.kernel_w; ++kw) col = col || (kw * p.dilation_w) % p.stride_w == b;
  return row && col;
}

bool same_sizes(const Conv2DParams& a, const Conv2DParams& b) {
  return a.in_h == b.in_h && a.in_w == b.in_w && a.out_h == b.out_h && a.out_w == b.out_w;
}

// The tap offsets precomputed at pack time when the run's sizes are the
// packed ones (the usual case); otherwise computed into `local`.
template <typename Packed>
const std::vector<std::int64_t>& offsets_for(const Conv2DParams& p, const PaddedShape& s, std::int64_t units, const Packed& packed,
                                             std::vector<std::int64_t>& local) {
  if (!packed.tap_offsets.empty() && same_sizes(p, packed.geometry)) return packed.tap_offsets;
  local = tap_offsets(p, s, units);
  return local;
}

bool sizes_known(const Conv2DParams& g) { return g.in_h > 0 && g.in_w > 0 && g.out_h > 0 && g.out_w > 0; }

// Fills the phase planes of `units` channel units (G channels interleaved per
// position) from value(channel, ih, iw) inside the image, 0 outside.
template <typename Out, int G, typename Value>
void fill_padded(const Conv2DParams& p, std::int64_t units, const PaddedShape& s, Out* dst, Value value) {
  for (std::int64_t u = 0; u < units; ++u)
    for (std::int64_t a = 0; a < s.stride_h; ++a)
      for (std::int64_t b = 0; b < s.stride_w; ++b) {
        if (!phase_is_read(p, a, b)) continue;  // e.g. 3 of the 4 planes of a 1x1 stride-2 conv
        Out* plane = dst + ((u * s.stride_h + a) * s.stride_w + b) * s.plane() * G;
        // Columns c with 0 <= c * sW + b - pad_left < in_w.
        const std::int64_t lo = std::clamp<std::int64_t>(ceil_div(p.pad_left - b, s.stride_w), 0, s.cols);
        const std::int64_t hi = std::clamp<std::int64_t>(ceil_div(p.in_w + p.pad_left - b, s.stride_w), lo, s.cols);
        for (std::int64_t r = 0; r < s.rows; ++r) {
          Out* row = plane + r * s.cols * G;
          const std::int64_t ih = r * s.stride_h + a - p.pad_top;
          if (ih < 0 || ih >= p.in_h) {
            std::fill(row, row + s.cols * G, Out{0});
            continue;
          }
          std::fill(row, row + lo * G, Out{0});
          for (std::int64_t c = lo; c < hi; ++c)
            for (int g = 0; g < G; ++g) row[c * G + g] = value(u * G + g, ih, c * s.stride_w + b - p.pad_left);
          std::fill(row + hi * G, row + s.cols * G, Out{0});
        }
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

// How many taps ONNX Runtime's SGEMM (MLAS) sums in one slice before adding
// the slice to the output, for a GEMM of n output positions and k taps: MLAS
// starts from 128 x 128 slices and trades the two strides while the other
// dimension is small. Summing in the same slices (each from zero, then added)
// makes tinyq's float convolutions round as ONNX Runtime's do where it runs
// them through im2col + SGEMM (e.g. the float Conv of an s8 QDQ model).
std::int64_t mlas_sgemm_stride_k(std::int64_t n, std::int64_t k) {
  std::int64_t stride_n = 128, stride_k = 128;
  if (n >= k) {
    while (stride_k / 2 >= k) stride_n *= 2, stride_k /= 2;
  } else {
    while (stride_n > 16 && stride_n / 2 >= n) stride_k *= 2, stride_n /= 2;
  }
  return stride_k;
}

// Float micro-kernel: one panel (4 channels) x one block of P parts. Tap j
// reads x + offsets[j] + part[i]; w is the panel's weights, 4 per tap. Taps
// are summed in slices of `slice` from zero, slices added in order, the bias
// last (the order of MLAS's SGEMM and its bias epilogue).
template <int P>
inline void micro_f32(const std::vector<std::int64_t>& offsets, std::int64_t slice, const float* x, const std::int64_t (&part)[P],
                      const float* w, const float* bias, __m256 (&out)[kConvPanel][P]) {
  // Accumulate in locals that never escape until the end: vector types may
  // alias float data, so writing through `out` in the loop would make the
  // compiler store every accumulator after every tap.
  __m256 total[kConvPanel][P];
  for (int r = 0; r < kConvPanel; ++r)
    for (int i = 0; i < P; ++i) total[r][i] = _mm256_setzero_ps();  // x + 0 == x
  const std::int64_t taps = static_cast<std::int64_t>(offsets.size());
  for (std::int64_t first = 0; first < taps; first += slice) {
    const std::int64_t last = std::min(taps, first + slice);
    __m256 acc[kConvPanel][P];
    for (int r = 0; r < kConvPanel; ++r)
      for (int i = 0; i < P; ++i) acc[r][i] = _mm256_setzero_ps();
    const float* wk = w + first * kConvPanel;
    for (std::int64_t j = first; j < last; ++j, wk += kConvPanel) {
      const float* xj = x + offsets[static_cast<std::size_t>(j)];
      __m256 xv[P];
      for (int i = 0; i < P; ++i) xv[i] = _mm256_loadu_ps(xj + part[i]);
      for (int r = 0; r < kConvPanel; ++r) {
        const __m256 wv = _mm256_broadcast_ss(wk + r);
        for (int i = 0; i < P; ++i) acc[r][i] = _mm256_fmadd_ps(wv, xv[i], acc[r][i]);
      }
    }
    for (int r = 0; r < kConvPanel; ++r)
      for (int i = 0; i < P; ++i) total[r][i] = _mm256_add_ps(acc[r][i], total[r][i]);
  }
  for (int r = 0; r < kConvPanel; ++r) {
    const __m256 b = _mm256_broadcast_ss(bias + r);
    for (int i = 0; i < P; ++i) out[r][i] = _mm256_add_ps(total[r][i], b);
  }
}

inline void store_f32(__m256 v, const Activation& act, std::int64_t count, float* dst) {
  if (act.kind == Activation::Kind::relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
  else if (act.kind == Activation::Kind::clip) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(act.min)), _mm256_set1_ps(act.max));
  if (count == 8) return _mm256_storeu_ps(dst, v);
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, v);
  for (std::int64_t i = 0; i < count; ++i) dst[i] = tmp[i];
}

// A convolution with a single output position is a matrix-vector product,
// which MLAS runs through its M=1 SGEMM kernel (SgemmKernelM1TransposeBAvx):
// per output channel, 8 lane sums of separately rounded products, taps taken
// 8 at a time in (ic, kh, kw) order, then reduced across lanes in an order
// that depends on whether the channel falls in a group of 4, 2 or 1 of the
// channel count. The bias is added afterwards. Mirrored here, lane for lane.
void conv_f32_single_position(const PackedConvF32& packed, const float* column, float* out) {
  const std::int64_t taps = packed.taps, channels = packed.out_channels;
  auto lanes_of = [&](std::int64_t oc, float (&lane)[8]) {
    for (float& l : lane) l = 0.f;
    const float* w = packed.weights.data() + (oc / kConvPanel) * taps * kConvPanel + oc % kConvPanel;
    for (std::int64_t k = 0; k < taps; ++k) {
      const float product = column[k] * w[k * kConvPanel];
      lane[k % 8] = lane[k % 8] + product;
    }
  };
  auto finish = [&](std::int64_t oc, float sum) {
    const float v = (sum + 0.f) + packed.bias[static_cast<std::size_t>(oc)];
    const Activation& act = packed.activation;
    out[oc] = act.kind == Activation::Kind::none ? v : act.apply(v);
  };
  std::int64_t oc = 0;
  for (; oc + 4 <= channels; oc += 4)  // transpose, then add lanes 0+1, +2, +3 | 4+5, +6, +7, then the halves
    for (std::int64_t r = 0; r < 4; ++r) {
      float l[8];
      lanes_of(oc + r, l);
      finish(oc + r, (((l[0] + l[1]) + l[2]) + l[3]) + (((l[4] + l[5]) + l[6]) + l[7]));
    }
  if (channels - oc >= 2) {  // (2 + 0) + (6 + 4) and (3 + 1) + (7 + 5), then those two
    for (std::int64_t r = 0; r < 2; ++r) {
      float l[8];
      lanes_of(oc + r, l);
      finish(oc + r, ((l[2] + l[0]) + (l[6] + l[4])) + ((l[3] + l[1]) + (l[7] + l[5])));
    }
    oc += 2;
  }
  if (oc < channels) {  // two horizontal adds, then the halves
    float l[8];
    lanes_of(oc, l);
    finish(oc, ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
  }
}

}  // namespace

PackedConvF32 pack_conv_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                            Activation activation) {
  PackedConvF32 packed;
  packed.geometry = geometry;
  if (sizes_known(geometry)) packed.tap_offsets = tap_offsets(geometry, padded_shape(geometry), geometry.in_channels);
  packed.out_channels = geometry.out_channels;
  packed.taps = geometry.in_channels * geometry.kernel_h * geometry.kernel_w;
  packed.activation = activation;
  const std::int64_t out_channels = packed.out_channels, taps = packed.taps;
  const std::int64_t panels = round_up(out_channels, kConvPanel) / kConvPanel;
  packed.weights.assign(static_cast<std::size_t>(panels * taps * kConvPanel), 0.f);
  packed.bias.assign(static_cast<std::size_t>(panels * kConvPanel), 0.f);
  // Taps in (ic, kh, kw) order, the order of an OIHW weight and of tap_offsets.
  for (std::int64_t oc = 0; oc < out_channels; ++oc) {
    const std::int64_t panel = oc / kConvPanel, lane = oc % kConvPanel;
    for (std::int64_t k = 0; k < taps; ++k)
      packed.weights[static_cast<std::size_t>((panel * taps + k) * kConvPanel + lane)] = weight[static_cast<std::size_t>(oc * taps + k)];
    if (!bias.empty()) packed.bias[static_cast<std::size_t>(oc)] = bias[static_cast<std::size_t>(oc)];
  }
  return packed;
}

void conv2d_f32_avx2(const Conv2DParams& p, const PackedConvF32& packed, const float* x, float* y) {
  const PaddedShape s = padded_shape(p);
  float* padded = scratch<float>(padded_elements(s, p.in_channels, 1));
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, s, p.in_channels, packed, local_offsets);
  const std::int64_t plane = p.out_h * p.out_w, panel_stride = packed.taps * kConvPanel;
  const std::int64_t slice = mlas_sgemm_stride_k(plane, packed.taps);
  std::vector<float> column(plane == 1 ? static_cast<std::size_t>(packed.taps) : 0);
  const std::int64_t panels = round_up(packed.out_channels, kConvPanel) / kConvPanel;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const float* image = x + n * p.in_channels * p.in_h * p.in_w;
    float* out = y + n * packed.out_channels * plane;
    fill_padded<float, 1>(p, p.in_channels, s, padded, [&](std::int64_t c, std::int64_t h, std::int64_t w) {
      return image[(c * p.in_h + h) * p.in_w + w];
    });
    if (plane == 1) {
      for (std::size_t j = 0; j < column.size(); ++j) column[j] = padded[offsets[j]];
      conv_f32_single_position(packed, column.data(), out);
      continue;
    }
    for_each_block<kF32Parts>(p.out_h, p.out_w, s.cols, [&](const Block<kF32Parts>& block) {
      std::int64_t part[kF32Parts];
      for (int i = 0; i < kF32Parts; ++i) part[i] = block.x_offset[i] - block.x_offset[0];
      for (std::int64_t q = 0; q < panels; ++q) {
        __m256 acc[kConvPanel][kF32Parts];
        micro_f32<kF32Parts>(offsets, slice, padded + block.x_offset[0], part, packed.weights.data() + q * panel_stride,
                             packed.bias.data() + q * kConvPanel, acc);
        for (int r = 0; r < kConvPanel; ++r) {
          const std::int64_t oc = q * kConvPanel + r;
          if (oc >= packed.out_channels) break;
          for (int i = 0; i < kF32Parts; ++i)
            if (block.count[i]) store_f32(acc[r][i], packed.activation, block.count[i], out + oc * plane + block.y_offset[i]);
        }
      }
    });
  }
}

template <typename TW>
PackedConvQ pack_conv_q(const Conv2DParams& geometry, std::span<const TW> weight,
                        std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                        std::int32_t x_zero_point, const Requantizer& requantizer) {
  PackedConvQ packed;
  packed.geometry = geometry;
  if (sizes_known(geometry))
    packed.tap_offsets = tap_offsets(geometry, padded_shape(geometry), (geometry.in_channels + 1) / 2);
  packed.out_channels = geometry.out_channels;
  const std::int64_t out_channels = packed.out_channels, window = geometry.kernel_h * geometry.kernel_w;
  packed.taps = geometry.in_channels * window;
  const std::int64_t taps = packed.taps;
  // Tap k = (ic, kh, kw) goes to pair (ic / 2, kh, kw), element ic % 2: the
  // padded image interleaves channel pairs, so one 32-bit lane holds both.
  packed.tap_pairs = (geometry.in_channels + 1) / 2 * window;
  auto slot_of = [&](std::int64_t k) -> std::pair<std::int64_t, std::int64_t> {
    const std::int64_t ic = k / window, tap = k % window;
    return {(ic / 2) * window + tap, ic % 2};
  };
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
      const auto [pair, element] = slot_of(k);
      packed.weights[static_cast<std::size_t>(((panel * packed.tap_pairs + pair) * kConvPanel + lane) * 2 + element)] =
          static_cast<std::int16_t>(wv);
      bound += std::abs(wv) * max_x;
    }
    if (!bias.empty()) packed.bias[c] = bias[c];
    const std::size_t m = requantizer.multipliers.size() > 1 ? c : 0;
    packed.multipliers[c] = requantizer.multipliers.at(m);
    if (requantizer.mode == kernels::RequantMode::fixed_point) {
      const kernels::FixedMultiplier fm = requantizer.fixed.at(m);
      // A zero multiplier maps everything to the zero point; shift 1 keeps the
      // rounding term (1 << (shift - 1)) defined and the product 0.
      packed.m0[c] = fm.m0;
      packed.shift[c] = fm.m0 == 0 ? 1 : fm.shift;
      if (static_cast<double>(bound) * kernels::from_fixed_multiplier(fm) >= std::ldexp(1.0, 30))
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
  // As kernels::requantize_float: float(acc) * M, clamp, round half to even
  // (cvtps2dq under the default MXCSR), + zp.
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), multiplier);
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);
}

inline __m256i requantize_fixed8(__m256i acc, __m256i m0, __m128i shift, __m256i round, __m256i sign_shifted,
                                 __m256i zp, __m256i qmin, __m256i qmax) {
  // As kernels::requantize_fixed: (acc * m0 + 2^(n-1)) >> n in 64 bits; the
  // scaled values fit int32 (checked at pack time).
  const __m256i scaled = multiply_round_shift(acc, m0, round, shift, sign_shifted);
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

// Requantizes the 16 accumulators of output channel oc for one block (a0 and
// a1: its two halves) and stores the valid positions of each half as TY.
template <typename TY>
inline void requantize_store(const PackedConvQ& packed, std::int64_t oc, __m256i a0, __m256i a1, const Block<2>& block, TY* plane) {
  const std::size_t c = static_cast<std::size_t>(oc);
  const __m256i zp = _mm256_set1_epi32(packed.zero_point);
  __m256i q0, q1;
  if (packed.mode == kernels::RequantMode::fixed_point && !packed.fixed_fits_int32) {
    alignas(32) std::int32_t a[kLanes];
    _mm256_store_si256(reinterpret_cast<__m256i*>(a), a0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(a + 8), a1);
    const kernels::FixedMultiplier fm{packed.m0[c], packed.shift[c]};
    for (auto& v : a) v = kernels::requantize_fixed(v, fm, packed.zero_point, packed.qmin, packed.qmax);
    q0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a));
    q1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + 8));
  } else if (packed.mode == kernels::RequantMode::fixed_point) {
    const __m256i m0 = _mm256_set1_epi64x(packed.m0[c]);
    const int n_shift = packed.shift[c];
    const __m128i shift = _mm_cvtsi32_si128(n_shift);
    const __m256i round = _mm256_set1_epi64x(1ll << (n_shift - 1));
    const __m256i sign_shifted = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ull >> n_shift));
    const __m256i qmin = _mm256_set1_epi32(packed.qmin), qmax = _mm256_set1_epi32(packed.qmax);
    q0 = requantize_fixed8(a0, m0, shift, round, sign_shifted, zp, qmin, qmax);
    q1 = requantize_fixed8(a1, m0, shift, round, sign_shifted, zp, qmin, qmax);
  } else {
    const __m256 m = _mm256_set1_ps(packed.multipliers[c]);
    const __m256 lo = _mm256_set1_ps(static_cast<float>(packed.qmin - packed.zero_point));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(packed.qmax - packed.zero_point));
    q0 = requantize_float8(a0, m, lo, hi, zp);
    q1 = requantize_float8(a1, m, lo, hi, zp);
  }
  const __m128i bytes = pack16<TY>(q0, q1);
  if (block.count[0] == 8 && block.count[1] == 8) {  // the common case: plain stores, no copy loop
    if (block.y_offset[1] == block.y_offset[0] + 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + block.y_offset[0]), bytes);
    } else {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(plane + block.y_offset[0]), bytes);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(plane + block.y_offset[1]), _mm_unpackhi_epi64(bytes, bytes));
    }
    return;
  }
  alignas(16) TY tmp[kLanes];
  _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
  for (int h = 0; h < 2; ++h)
    for (std::int64_t i = 0; i < block.count[h]; ++i) plane[block.y_offset[h] + i] = tmp[8 * h + i];
}

// Integer micro-kernel on the channel-pair-interleaved padded image: one
// panel x one block, one vpmaddwd per (tap pair, channel, half).
inline void micro_q(const std::vector<std::int64_t>& offsets, const std::int16_t* x, std::int64_t half_step,
                    const std::int16_t* w, const std::int32_t* bias, __m256i (&out)[kConvPanel][2]) {
  __m256i acc[kConvPanel][2];  // locals until the end, as in micro_f32
  for (int r = 0; r < kConvPanel; ++r) acc[r][0] = acc[r][1] = _mm256_set1_epi32(bias[r]);
  for (const std::int64_t offset : offsets) {
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + offset * 2));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + (offset + half_step) * 2));
    for (int r = 0; r < kConvPanel; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, w + r * 2, sizeof pair);
      const __m256i wv = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x0, wv));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x1, wv));
    }
    w += kConvPanel * 2;
  }
  for (int r = 0; r < kConvPanel; ++r) out[r][0] = acc[r][0], out[r][1] = acc[r][1];
}

}  // namespace

template <typename TX, typename TY>
void qlinear_conv_avx2(const Conv2DParams& p, const PackedConvQ& packed, const TX* x, TY* y) {
  const PaddedShape s = padded_shape(p);
  const std::int64_t pairs = (p.in_channels + 1) / 2;
  std::int16_t* padded = scratch<std::int16_t>(padded_elements(s, pairs, 2));
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, s, pairs, packed, local_offsets);
  const std::int64_t plane = p.out_h * p.out_w, panel_stride = packed.tap_pairs * kConvPanel * 2;
  const std::int64_t panels = round_up(packed.out_channels, kConvPanel) / kConvPanel;
  const std::int32_t x_zp = packed.x_zero_point;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const TX* image = x + n * p.in_channels * p.in_h * p.in_w;
    TY* out = y + n * packed.out_channels * plane;
    // Element (c, h, w) is x - x_zp; a missing odd channel and the border are
    // 0, exactly as padding with x_zp contributes nothing.
    fill_padded<std::int16_t, 2>(p, pairs, s, padded, [&](std::int64_t c, std::int64_t h, std::int64_t w) {
      return c < p.in_channels ? static_cast<std::int16_t>(static_cast<std::int32_t>(image[(c * p.in_h + h) * p.in_w + w]) - x_zp)
                               : std::int16_t{0};
    });
    for_each_block<2>(p.out_h, p.out_w, s.cols, [&](const Block<2>& block) {
      for (std::int64_t q = 0; q < panels; ++q) {
        __m256i acc[kConvPanel][2];
        micro_q(offsets, padded + block.x_offset[0] * 2, block.x_offset[1] - block.x_offset[0], packed.weights.data() + q * panel_stride,
                packed.bias.data() + q * kConvPanel, acc);
        for (int r = 0; r < kConvPanel; ++r) {
          const std::int64_t oc = q * kConvPanel + r;
          if (oc >= packed.out_channels) break;
          requantize_store<TY>(packed, oc, acc[r][0], acc[r][1], block, out + oc * plane);
        }
      }
    });
  }
}

template PackedConvQ pack_conv_q<std::uint8_t>(const Conv2DParams&, std::span<const std::uint8_t>,
                                               std::span<const std::int32_t>, std::span<const std::int32_t>,
                                               std::int32_t, const Requantizer&);
template PackedConvQ pack_conv_q<std::int8_t>(const Conv2DParams&, std::span<const std::int8_t>,
                                              std::span<const std::int32_t>, std::span<const std::int32_t>,
                                              std::int32_t, const Requantizer&);
template void qlinear_conv_avx2<std::uint8_t, std::uint8_t>(const Conv2DParams&, const PackedConvQ&, const std::uint8_t*, std::uint8_t*);
template void qlinear_conv_avx2<std::uint8_t, std::int8_t>(const Conv2DParams&, const PackedConvQ&, const std::uint8_t*, std::int8_t*);
template void qlinear_conv_avx2<std::int8_t, std::uint8_t>(const Conv2DParams&, const PackedConvQ&, const std::int8_t*, std::uint8_t*);
template void qlinear_conv_avx2<std::int8_t, std::int8_t>(const Conv2DParams&, const PackedConvQ&, const std::int8_t*, std::int8_t*);

}  // namespace tinyq::kernels::x86
