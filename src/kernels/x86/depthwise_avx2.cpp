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

void depthwise_f32_avx2(const Conv2DParams& p, const PackedDepthwiseF32& packed, const float* x, float* y) {
  const PaddedShape s = padded_shape(p);
  float* padded = padded_scratch<float>(padded_elements(s, 1, 1), 0.f);
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, 1, packed, local_offsets);
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

template <typename TX, typename TY>
void qlinear_depthwise_avx2(const Conv2DParams& p, const PackedDepthwiseQ& packed, const TX* x, TY* y) {
  const PaddedShape s = padded_shape(p);
  std::int16_t* padded = padded_scratch<std::int16_t>(padded_elements(s, 1, 1), 0);
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>* offsets = &packed.tap_offsets;
  if (packed.tap_offsets.empty() || !same_sizes(p, packed.geometry)) offsets = &(local_offsets = depthwise_tap_offsets(p));
  const std::int64_t plane = p.out_h * p.out_w, channels = packed.channels;
  for (std::int64_t n = 0; n < p.batch; ++n)
    for (std::int64_t c = 0; c < channels; ++c) {
      const TX* image = x + (n * channels + c) * p.in_h * p.in_w;
      TY* out = y + (n * channels + c) * plane;
      fill_padded<std::int16_t, 1>(p, 1, s, padded,
                                   [&](std::int16_t* dst, std::int64_t, std::int64_t ih, std::int64_t iw, std::int64_t count,
                                       std::int64_t step) { write_words<TX>(dst, image + ih * p.in_w + iw, image + p.in_h * p.in_w, packed.x_zero_point, count,
                                                             step); });
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

template void qlinear_depthwise_avx2<std::uint8_t, std::uint8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::uint8_t*, std::uint8_t*);
template void qlinear_depthwise_avx2<std::uint8_t, std::int8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::uint8_t*, std::int8_t*);
template void qlinear_depthwise_avx2<std::int8_t, std::uint8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::int8_t*, std::uint8_t*);
template void qlinear_depthwise_avx2<std::int8_t, std::int8_t>(const Conv2DParams&, const PackedDepthwiseQ&, const std::int8_t*, std::int8_t*);

}  // namespace tinyq::kernels::x86
