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

void conv2d_f32_avx2(const Conv2DParams& p, const PackedConvF32& packed, const float* x, float* y) {
  const PaddedShape s = padded_shape(p);
  const std::size_t padded_size = padded_elements(s, p.in_channels, 1);
  const std::int64_t plane = p.out_h * p.out_w, panel_stride = packed.taps * kConvPanel;
  // The padded image, then (one output position only) the taps' column.
  float* padded = padded_scratch<float>(padded_size, 0.f, plane == 1 ? static_cast<std::size_t>(packed.taps) : 0);
  float* column = padded + padded_size;
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, p.in_channels, packed, local_offsets);
  const std::int64_t slice = mlas_sgemm_stride_k(plane, packed.taps);
  const std::int64_t panels = round_up(packed.out_channels, kConvPanel) / kConvPanel;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const float* image = x + n * p.in_channels * p.in_h * p.in_w;
    float* out = y + n * packed.out_channels * plane;
    fill_padded_floats(p, s, image, p.in_channels, padded);
    if (plane == 1) {
      for (std::int64_t j = 0; j < packed.taps; ++j) column[j] = padded[offsets[static_cast<std::size_t>(j)]];
      conv_f32_single_position(packed, column, out);
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
  std::int16_t* padded = padded_scratch<std::int16_t>(padded_elements(s, pairs, 2), 0);
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, pairs, packed, local_offsets);
  const std::int64_t plane = p.out_h * p.out_w, panel_stride = packed.tap_pairs * kConvPanel * 2;
  const std::int64_t panels = round_up(packed.out_channels, kConvPanel) / kConvPanel;
  const std::int32_t x_zp = packed.x_zero_point;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const TX* image = x + n * p.in_channels * p.in_h * p.in_w;
    const TX* image_end = image + p.in_channels * p.in_h * p.in_w;
    TY* out = y + n * packed.out_channels * plane;
    // Element (c, h, w) is x - x_zp; a missing odd channel and the border are
    // 0, exactly as padding with x_zp contributes nothing.
    fill_padded<std::int16_t, 2>(
        p, pairs, s, padded,
        [&](std::int16_t* dst, std::int64_t u, std::int64_t ih, std::int64_t iw, std::int64_t count, std::int64_t step) {
          const TX* rows[2];
          unit_rows<2>(p, image, u, ih, iw, rows);
          write_pairs<TX>(dst, rows, image_end, x_zp, count, step);
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

template void qlinear_conv_avx2<std::uint8_t, std::uint8_t>(const Conv2DParams&, const PackedConvQ&, const std::uint8_t*, std::uint8_t*);
template void qlinear_conv_avx2<std::uint8_t, std::int8_t>(const Conv2DParams&, const PackedConvQ&, const std::uint8_t*, std::int8_t*);
template void qlinear_conv_avx2<std::int8_t, std::uint8_t>(const Conv2DParams&, const PackedConvQ&, const std::int8_t*, std::uint8_t*);
template void qlinear_conv_avx2<std::int8_t, std::int8_t>(const Conv2DParams&, const PackedConvQ&, const std::int8_t*, std::int8_t*);

}  // namespace tinyq::kernels::x86
