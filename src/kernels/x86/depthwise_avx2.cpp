// Compiled with -mavx2 -mfma (see src/CMakeLists.txt); the header says how it works.
#include "kernels/x86/depthwise_avx2.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>
#include <algorithm>

#include "kernels/x86/conv_epilogue_avx2.h"
#include "kernels/x86/conv_layout.h"

namespace tinyq::kernels::x86 {
namespace {

constexpr int kParts = 4;  // a block: 4 parts of 8 positions

// The window's tap offsets in one channel's planes, padded to an even count:
// an odd window's last pair reads its one tap twice (the partner's weight is 0).
std::vector<std::int64_t> window_offsets(const Conv2DParams& p, const PaddedShape& s) {
  std::vector<std::int64_t> offsets = tap_offsets(p, s, 1);
  if (offsets.size() % 2) offsets.push_back(offsets.back());
  return offsets;
}

// One channel x one block: per tap pair and part, two loads, an unpack into
// (x at t0, x at t1) pairs and one vpmaddwd. Accumulators start at the bias.
inline void micro_depthwise(const std::int64_t* offsets, std::int64_t tap_pairs, const std::int16_t* x,
                            const std::int64_t (&part)[kParts], const std::int16_t* w, std::int32_t bias, __m256i (&out)[kParts]) {
  __m256i acc[kParts];
  for (auto& a : acc) a = _mm256_set1_epi32(bias);
  for (std::int64_t t = 0; t < tap_pairs; ++t, w += 2) {
    std::int32_t pair;
    std::memcpy(&pair, w, sizeof pair);
    const __m256i wv = _mm256_set1_epi32(pair);
    const std::int16_t* x0 = x + offsets[2 * t];
    const std::int16_t* x1 = x + offsets[2 * t + 1];
    for (int i = 0; i < kParts; ++i) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x0 + part[i]));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x1 + part[i]));
      const __m256i pairs = _mm256_set_m128i(_mm_unpackhi_epi16(a, b), _mm_unpacklo_epi16(a, b));
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(pairs, wv));
    }
  }
  for (int i = 0; i < kParts; ++i) out[i] = acc[i];
}

// Float: one channel x one block, a chain of fused multiply-adds per output
// from the bias, taps in order.
inline void micro_depthwise_f32(const std::vector<std::int64_t>& offsets, const float* x, const std::int64_t (&part)[kParts],
                                const float* w, float bias, __m256 (&out)[kParts]) {
  __m256 acc[kParts];
  for (auto& a : acc) a = _mm256_set1_ps(bias);
  for (std::size_t t = 0; t < offsets.size(); ++t) {
    const __m256 wv = _mm256_broadcast_ss(w + t);
    const float* xt = x + offsets[t];
    for (int i = 0; i < kParts; ++i) acc[i] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xt + part[i]), acc[i]);
  }
  for (int i = 0; i < kParts; ++i) out[i] = acc[i];
}

}  // namespace

PackedDepthwiseF32 pack_depthwise_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                                      Activation activation) {
  PackedDepthwiseF32 packed;
  packed.geometry = geometry;
  if (sizes_known(geometry)) packed.tap_offsets = tap_offsets(geometry, padded_shape(geometry), 1);
  packed.channels = geometry.out_channels;
  packed.window = geometry.kernel_h * geometry.kernel_w;
  packed.weights.assign(weight.begin(), weight.end());
  packed.bias.assign(static_cast<std::size_t>(packed.channels), 0.f);
  if (!bias.empty()) std::copy(bias.begin(), bias.end(), packed.bias.begin());
  packed.activation = activation;
  return packed;
}

void depthwise_f32_avx2(const Conv2DParams& p, const PackedDepthwiseF32& packed, const float* x, float* y) {
  const PaddedShape s = padded_shape(p);
  float* padded = scratch<float>(padded_elements(s, 1, 1));
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, s, 1, packed, local_offsets);
  const std::int64_t plane = p.out_h * p.out_w, channels = packed.channels;
  for (std::int64_t n = 0; n < p.batch; ++n)
    for (std::int64_t c = 0; c < channels; ++c) {
      fill_padded_floats(p, s, x + (n * channels + c) * p.in_h * p.in_w, 1, padded);
      float* out = y + (n * channels + c) * plane;
      const float* w = packed.weights.data() + c * packed.window;
      const float bias = packed.bias[static_cast<std::size_t>(c)];
      for_each_block<kParts>(p.out_h, p.out_w, s.cols, [&](const Block<kParts>& block) {
        std::int64_t part[kParts];
        for (int i = 0; i < kParts; ++i) part[i] = block.x_offset[i] - block.x_offset[0];
        __m256 acc[kParts];
        micro_depthwise_f32(offsets, padded + block.x_offset[0], part, w, bias, acc);
        for (int i = 0; i < kParts; ++i)
          if (block.count[i]) store_f32(acc[i], packed.activation, block.count[i], out + block.y_offset[i]);
      });
    }
}

template <typename TW>
PackedDepthwiseQ pack_depthwise_q(const Conv2DParams& geometry, std::span<const TW> weight,
                                  std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                                  std::int32_t x_zero_point, const Requantizer& requantizer) {
  PackedDepthwiseQ packed;
  packed.geometry = geometry;
  if (sizes_known(geometry)) packed.tap_offsets = window_offsets(geometry, padded_shape(geometry));
  packed.channels = geometry.out_channels;
  const std::int64_t window = geometry.kernel_h * geometry.kernel_w;
  packed.tap_pairs = (window + 1) / 2;
  packed.x_zero_point = x_zero_point;
  packed.weights.assign(static_cast<std::size_t>(packed.channels * packed.tap_pairs * 2), 0);
  std::vector<std::int64_t> abs_sums(static_cast<std::size_t>(packed.channels), 0);
  for (std::int64_t c = 0; c < packed.channels; ++c) {
    const std::int32_t w_zp = w_zero_points[w_zero_points.size() > 1 ? static_cast<std::size_t>(c) : 0];
    for (std::int64_t k = 0; k < window; ++k) {
      const std::int32_t wv = static_cast<std::int32_t>(weight[static_cast<std::size_t>(c * window + k)]) - w_zp;
      packed.weights[static_cast<std::size_t>(c * packed.tap_pairs * 2 + k)] = static_cast<std::int16_t>(wv);
      abs_sums[static_cast<std::size_t>(c)] += std::abs(wv);
    }
  }
  packed.requant = make_conv_requant(packed.channels, bias, abs_sums, requantizer);
  return packed;
}

template <typename TX, typename TY>
void qlinear_depthwise_avx2(const Conv2DParams& p, const PackedDepthwiseQ& packed, const TX* x, TY* y) {
  const PaddedShape s = padded_shape(p);
  std::int16_t* padded = scratch<std::int16_t>(padded_elements(s, 1, 1));
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>* offsets = &packed.tap_offsets;
  if (packed.tap_offsets.empty() || !same_sizes(p, packed.geometry)) offsets = &(local_offsets = window_offsets(p, s));
  const std::int64_t plane = p.out_h * p.out_w, channels = packed.channels;
  for (std::int64_t n = 0; n < p.batch; ++n)
    for (std::int64_t c = 0; c < channels; ++c) {
      const TX* image = x + (n * channels + c) * p.in_h * p.in_w;
      TY* out = y + (n * channels + c) * plane;
      fill_padded<std::int16_t, 1>(p, 1, s, padded, std::int16_t{0},
                                   [&](std::int16_t* dst, std::int64_t, std::int64_t ih, std::int64_t iw, std::int64_t count,
                                       std::int64_t step) { write_words<TX>(dst, image + ih * p.in_w + iw, packed.x_zero_point, count, step); });
      const std::int16_t* w = packed.weights.data() + c * packed.tap_pairs * 2;
      const std::int32_t bias = packed.requant.bias[static_cast<std::size_t>(c)];
      for_each_block<kParts>(p.out_h, p.out_w, s.cols, [&](const Block<kParts>& block) {
        std::int64_t part[kParts];
        for (int i = 0; i < kParts; ++i) part[i] = block.x_offset[i] - block.x_offset[0];
        __m256i acc[kParts];
        micro_depthwise(offsets->data(), packed.tap_pairs, padded + block.x_offset[0], part, w, bias, acc);
        for (int h = 0; h < 2; ++h) requantize_store<TY>(packed.requant, c, acc[2 * h], acc[2 * h + 1], half_of(block, h), out);
      });
    }
}

template PackedDepthwiseQ pack_depthwise_q<std::uint8_t>(const Conv2DParams&, std::span<const std::uint8_t>,
                                                         std::span<const std::int32_t>, std::span<const std::int32_t>,
                                                         std::int32_t, const Requantizer&);
template PackedDepthwiseQ pack_depthwise_q<std::int8_t>(const Conv2DParams&, std::span<const std::int8_t>,
                                                        std::span<const std::int32_t>, std::span<const std::int32_t>,
                                                        std::int32_t, const Requantizer&);
template void qlinear_depthwise_avx2<std::uint8_t, std::uint8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::uint8_t*, std::uint8_t*);
template void qlinear_depthwise_avx2<std::uint8_t, std::int8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::uint8_t*, std::int8_t*);
template void qlinear_depthwise_avx2<std::int8_t, std::uint8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::int8_t*, std::uint8_t*);
template void qlinear_depthwise_avx2<std::int8_t, std::int8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::int8_t*, std::int8_t*);

}  // namespace tinyq::kernels::x86
