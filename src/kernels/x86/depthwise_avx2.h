#pragma once
// Depthwise 2-D convolutions (group == channels, one output channel per
// input channel: MobileNet's and DS-CNN's layers) with AVX2, float and
// quantized (QLinearConv). Same semantics as kernels/reference/conv.h and
// quantized.h; tests/unit/fast_kernels_test.cpp holds them to the reference:
// bit for bit on the integer path, 1e-5 relative on the float one (which
// fuses each multiply-add; taps in the reference's order, from the bias).
//
// How: per channel, the image is copied once into conv_avx2's padded phase
// planes as int16 (x - x_zp). A channel has only kh x kw taps, so taps are
// paired within the window, (t0, t1), (t2, t3), ...: for 8 outputs, the
// values at the two taps are interleaved (two 16-byte loads, unpack) and one
// vpmaddwd with the pair of weights (w - w_zp) adds both products, exactly.
// 32 outputs per step keep 4 accumulators in flight; the requantizing store
// is conv_avx2's.
//
// Only call these when cpu_features().avx2 is true: compiled with -mavx2 -mfma.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/reference/conv.h"
#include "kernels/reference/quantized.h"
#include "kernels/x86/conv_avx2.h"

namespace tinyq::kernels::x86 {

struct PackedDepthwiseF32 {
  Conv2DParams geometry;
  std::vector<std::int64_t> tap_offsets;  // the window's offsets in one channel's planes (empty: sizes unknown)
  std::int64_t channels = 0, window = 0;
  std::vector<float> weights, bias;  // [channel][tap], [channel]
  Activation activation;
};
// geometry: group == in_channels == out_channels; weight: [C, 1, kh, kw].
PackedDepthwiseF32 pack_depthwise_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                                      Activation activation);
void depthwise_f32_avx2(const Conv2DParams& p, const PackedDepthwiseF32& packed, const float* x, float* y);

struct PackedDepthwiseQ {
  Conv2DParams geometry;
  std::vector<std::int64_t> tap_offsets;  // the window's offsets in one channel's planes (empty: sizes unknown)
  std::int64_t channels = 0, tap_pairs = 0;
  std::vector<std::int16_t> weights;  // w - w_zp, [channel][tap pair][2], 0 for the odd tap's partner
  std::int32_t x_zero_point = 0;
  ConvRequant requant;
};

// geometry: group == in_channels == out_channels; weight: [C, 1, kh, kw].
template <typename TW>
PackedDepthwiseQ pack_depthwise_q(const Conv2DParams& geometry, std::span<const TW> weight,
                                  std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                                  std::int32_t x_zero_point, const Requantizer& requantizer);
template <typename TX, typename TY>
void qlinear_depthwise_avx2(const Conv2DParams& p, const PackedDepthwiseQ& packed, const TX* x, TY* y);

}  // namespace tinyq::kernels::x86
