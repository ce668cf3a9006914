#pragma once
// Quantized 2-D convolution (QLinearConv, group 1) with AVX-512 VNNI, for
// the Intel Xeons (Cascade Lake and later) and AMD EPYCs (Zen 4 and later)
// that have it. Same semantics as kernels/reference/quantized.h, bit for bit;
// tests/unit/fast_kernels_test.cpp holds it to the reference.
//
// How it is exact: vpdpbusd multiplies 4 unsigned bytes by 4 signed bytes and
// adds the four products to an int32 lane without saturating (the AVX2
// vpmaddubsw saturates at 16 bits, which is why ONNX Runtime's AVX2 int8
// kernels can differ from the reference). The activations go in as their u8
// codes (s8 codes + 128), the weights as w - w_zp, which must fit a signed
// byte (always so for s8 weights with zero point 0; pack says when not).
// Summing x * w' instead of (x - x_zp) * w' adds x_zp * sum(w') to every
// output of a channel, so the packed bias is bias - x_zp * sum(w'), and the
// border of the padded image is x_zp itself (contributing exactly nothing).
// The accumulators wrap modulo 2^32 on the way, and the result equals the
// reference's exact int32 accumulator, which fits 32 bits (checked at pack).
//
// How it is fast: the layout of conv_avx2 (phase planes, no im2col), with 4
// input channels interleaved per position (one int32 lane per position), so
// one vpdpbusd does 16 positions x 4 channels = 64 multiply-adds. The
// micro-kernel keeps 8 output channels x 32 positions in 16 registers.
// Requantization runs on 16 lanes at once (WideRequant in the .cpp); only
// the fixed-point rule's scalar 64-bit fallback goes through conv_avx2's
// store, on the two 256-bit halves.
//
// Only call these when cpu_features() has avx512f/bw/vl and avx512_vnni: this
// file's code is compiled with those flags (see src/CMakeLists.txt).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kernels/reference/conv.h"
#include "kernels/reference/quantized.h"
#include "kernels/x86/conv_avx2.h"

namespace tinyq::kernels::x86 {

inline constexpr std::int64_t kVnniPanel = 8;  // output channels per micro-kernel panel

struct PackedConvVnni {
  Conv2DParams geometry;
  std::vector<std::int64_t> tap_offsets;  // as in PackedConvF32, per channel quad
  std::int64_t out_channels = 0, tap_quads = 0;
  std::vector<std::int8_t> weights;  // w - w_zp, [panels][tap quads][8 channels][4 input channels]
  std::uint8_t x_code = 0;           // the u8 code of x's zero point: border and missing channels
  ConvRequant requant;               // bias already minus x_code * sum(w - w_zp)
};

// Arguments as pack_conv_q's; TX is the activation type. std::nullopt when
// some w - w_zp does not fit a signed byte (the AVX2 kernel then runs).
// Plain code (conv_pack.cpp): callable on any CPU.
template <typename TX, typename TW>
std::optional<PackedConvVnni> pack_conv_q_vnni(const Conv2DParams& geometry, std::span<const TW> weight,
                                               std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                                               std::int32_t x_zero_point, const Requantizer& requantizer);

// The kernel, built twice from conv_avx512_vnni.cpp: with the real
// instructions (namespace avx512_vnni) and on SIMDe's portable versions of
// the same intrinsics (avx512_vnni_emulated: --kernels avx512-emulated).
namespace avx512_vnni {
template <typename TX, typename TY>
void qlinear_conv(const Conv2DParams& p, const PackedConvVnni& packed, const TX* x, TY* y);
}  // namespace avx512_vnni
namespace avx512_vnni_emulated {
template <typename TX, typename TY>
void qlinear_conv(const Conv2DParams& p, const PackedConvVnni& packed, const TX* x, TY* y);
}  // namespace avx512_vnni_emulated

}  // namespace tinyq::kernels::x86
