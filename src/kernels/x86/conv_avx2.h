#pragma once
// Fast 2-D convolutions for x86 with AVX2 and FMA (every x86 server since
// 2013, AMD Zen included). Same semantics as kernels/reference/conv.h and
// reference/quantized.h; tests/unit/fast_kernels_test.cpp holds them to it:
// bit for bit on the integer path, 1e-5 relative on the float path (the fast
// path uses fused multiply-adds).
//
// How they are fast: weights are packed once (at prepare time) into panels of
// 4 output channels. Per image, the input is copied once into a zero-bordered
// buffer split into stride x stride phase planes, so every tap of 16
// neighbouring outputs is one contiguous load, for any stride (no im2col).
// Micro-kernels keep 8 accumulators in registers over all taps (4 channels x
// 16 positions, or 8 channels x 8 positions for narrow images).
// The int8 path keeps (x - x_zp) and (w - w_zp) as int16 and multiplies pairs
// of taps with vpmaddwd, which is exact (no saturation, unlike vpmaddubsw),
// then requantizes in registers and stores 8-bit outputs directly; taps are
// paired by input channel (ic, ic + 1 at the same kh, kw).
//
// Only call these when cpu_features().avx2 is true: this file's code is
// compiled with -mavx2 -mfma.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/reference/conv.h"
#include "kernels/reference/quantized.h"

namespace tinyq::kernels::x86 {

inline constexpr std::int64_t kConvPanel = 4;  // output channels per micro-kernel panel

// Float convolution, group 1. weights: [panels][taps][4], zero-padded channels.
// `geometry` needs in/out channels, kernel size, strides, dilations and pads;
// when it also has the spatial sizes (in_h, in_w, out_h, out_w > 0, known
// from the graph before the first run), the tap offsets into the padded image
// are computed once here instead of on every call.
struct PackedConvF32 {
  Conv2DParams geometry;
  std::vector<std::int64_t> tap_offsets;  // empty when the sizes were not known
  std::int64_t out_channels = 0, taps = 0;
  std::vector<float> weights, bias;
  Activation activation;
};
PackedConvF32 pack_conv_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                            Activation activation);
// p: the full geometry (batch, sizes); x: NCHW input; y: NCHW output.
void conv2d_f32_avx2(const Conv2DParams& p, const PackedConvF32& packed, const float* x, float* y);

// The per-output-channel epilogue of an integer convolution: the int32 bias
// the accumulators start from and the requantization to 8 bits, one entry per
// (padded) output channel.
struct ConvRequant {
  std::vector<std::int32_t> bias;
  kernels::RequantMode mode = kernels::RequantMode::float_multiplier;
  std::vector<float> multipliers;
  std::vector<std::int32_t> m0, shift;
  std::int32_t zero_point = 0, qmin = 0, qmax = 255;
  // False when some channel's worst-case accumulator times its multiplier
  // could leave the int32 range: the fixed-point epilogue then runs the
  // scalar reference rule (64-bit) instead of the vector one.
  bool fixed_fits_int32 = true;
};
// weight_abs_sums[oc]: the sum of |w - w_zp| over the channel's taps, which
// bounds its accumulator (with |x - x_zp| <= 255); throws Error when a channel
// could overflow 32 bits.
ConvRequant make_conv_requant(std::int64_t padded_channels, std::span<const std::int32_t> bias,
                              std::span<const std::int64_t> weight_abs_sums, const Requantizer& requantizer);

// Quantized convolution (QLinearConv), group 1, any of u8/s8 activations and
// weights. weights: (w - w_zp) as int16, [panels][tap pairs][4][2].
struct PackedConvQ {
  Conv2DParams geometry;
  std::vector<std::int64_t> tap_offsets;  // as in PackedConvF32
  std::int64_t out_channels = 0, taps = 0, tap_pairs = 0;
  std::vector<std::int16_t> weights;
  std::int32_t x_zero_point = 0;
  ConvRequant requant;
};
template <typename TW>
PackedConvQ pack_conv_q(const Conv2DParams& geometry, std::span<const TW> weight,
                        std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                        std::int32_t x_zero_point, const Requantizer& requantizer);
template <typename TX, typename TY>
void qlinear_conv_avx2(const Conv2DParams& p, const PackedConvQ& packed, const TX* x, TY* y);

}  // namespace tinyq::kernels::x86
