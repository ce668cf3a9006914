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
#include "kernels/x86/conv_epilogue_avx2.h"
#include "kernels/x86/conv_layout.h"
#include "kernels/x86/simd_avx2.h"

namespace tinyq::kernels::x86 {
namespace {

constexpr int kF32Parts = 2;         // float blocks: 4 channels x 16 positions (3 parts spill registers: measured slower)

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
    fill_padded_floats(p, s, image, p.in_channels, padded);
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

ConvRequant make_conv_requant(std::int64_t padded_channels, std::span<const std::int32_t> bias,
                              std::span<const std::int64_t> weight_abs_sums, const Requantizer& requantizer) {
  ConvRequant r;
  r.mode = requantizer.mode;
  r.zero_point = requantizer.zero_point;
  r.qmin = requantizer.qmin;
  r.qmax = requantizer.qmax;
  const std::size_t padded = static_cast<std::size_t>(padded_channels);
  r.bias.assign(padded, 0);
  r.multipliers.assign(padded, 0.f);
  r.m0.assign(padded, 0);
  r.shift.assign(padded, 1);
  // x - x_zp lies in [-255, 255] for u8 and s8 alike.
  constexpr std::int64_t max_x = 255;
  for (std::size_t c = 0; c < weight_abs_sums.size(); ++c) {
    const std::int64_t bound = (bias.empty() ? 0 : std::abs(static_cast<std::int64_t>(bias[c]))) + weight_abs_sums[c] * max_x;
    if (!bias.empty()) r.bias[c] = bias[c];
    const std::size_t m = requantizer.multipliers.size() > 1 ? c : 0;
    r.multipliers[c] = requantizer.multipliers.at(m);
    if (requantizer.mode == kernels::RequantMode::fixed_point) {
      const kernels::FixedMultiplier fm = requantizer.fixed.at(m);
      // A zero multiplier maps everything to the zero point; shift 1 keeps the
      // rounding term (1 << (shift - 1)) defined and the product 0.
      r.m0[c] = fm.m0;
      r.shift[c] = fm.m0 == 0 ? 1 : fm.shift;
      if (static_cast<double>(bound) * kernels::from_fixed_multiplier(fm) >= std::ldexp(1.0, 30)) r.fixed_fits_int32 = false;
    }
    if (bound >= (std::int64_t{1} << 31))
      throw Error("quantized convolution: channel " + std::to_string(c) + " can overflow a 32-bit accumulator");
  }
  return r;
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
  packed.x_zero_point = x_zero_point;
  const std::int64_t padded = round_up(out_channels, kConvPanel), panels = padded / kConvPanel;
  packed.weights.assign(static_cast<std::size_t>(panels * packed.tap_pairs * kConvPanel * 2), 0);
  std::vector<std::int64_t> abs_sums(static_cast<std::size_t>(out_channels), 0);
  for (std::int64_t oc = 0; oc < out_channels; ++oc) {
    const std::int32_t w_zp = w_zero_points[w_zero_points.size() > 1 ? static_cast<std::size_t>(oc) : 0];
    const std::int64_t panel = oc / kConvPanel, lane = oc % kConvPanel;
    for (std::int64_t k = 0; k < taps; ++k) {
      const std::int32_t wv = static_cast<std::int32_t>(weight[static_cast<std::size_t>(oc * taps + k)]) - w_zp;
      const std::int64_t ic = k / window, pair = (ic / 2) * window + k % window;
      packed.weights[static_cast<std::size_t>(((panel * packed.tap_pairs + pair) * kConvPanel + lane) * 2 + ic % 2)] =
          static_cast<std::int16_t>(wv);
      abs_sums[static_cast<std::size_t>(oc)] += std::abs(wv);
    }
  }
  packed.requant = make_conv_requant(padded, bias, abs_sums, requantizer);
  return packed;
}

namespace {

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
    fill_padded<std::int16_t, 2>(
        p, pairs, s, padded, std::int16_t{0},
        [&](std::int16_t* dst, std::int64_t u, std::int64_t ih, std::int64_t iw, std::int64_t count, std::int64_t step) {
          const TX* rows[2];
          unit_rows<2>(p, image, u, ih, iw, rows);
          write_pairs<TX>(dst, rows, x_zp, count, step);
        });
    for_each_block<2>(p.out_h, p.out_w, s.cols, [&](const Block<2>& block) {
      for (std::int64_t q = 0; q < panels; ++q) {
        __m256i acc[kConvPanel][2];
        micro_q(offsets, padded + block.x_offset[0] * 2, block.x_offset[1] - block.x_offset[0], packed.weights.data() + q * panel_stride,
                packed.requant.bias.data() + q * kConvPanel, acc);
        for (int r = 0; r < kConvPanel; ++r) {
          const std::int64_t oc = q * kConvPanel + r;
          if (oc >= packed.out_channels) break;
          requantize_store<TY>(packed.requant, oc, acc[r][0], acc[r][1], block, out + oc * plane);
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
