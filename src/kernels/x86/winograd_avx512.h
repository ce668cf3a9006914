#pragma once
// Float 3x3 convolution, stride 1, by Winograd's minimal filtering F(2x2, 3x3)
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015),
// on AVX-512. Each 2x2 block of outputs ("tile") comes from a 4x4 input patch
// d and the 3x3 filter g as
//     Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// with 16 products per tile and channel pair instead of 36: 2.25x fewer
// multiply-adds, which is most of a ResNet's float time (its stride-1 3x3
// layers are three quarters of its MACs).
//
// How it runs, per image and block of 32 (or 16) tiles: (1) the input
// transform B^T d B, vectorised over 16 neighbouring tiles (even and odd
// columns split by one permute; tile rows of 4 or 8 tiles are read from a
// zero-bordered copy, two to four tile rows a vector), writes
// V[16][in_channels][block]; (2) 16 small GEMMs M[k] = U[k] V[k]
// (U = G g G^T, packed once) with 8 or 16 output channels x 32 or 16 tiles
// of accumulators in registers; (3) the output transform A^T M A, the bias,
// the sum input if any, the activation, and each tile row's two output rows
// stored after one interleave.
//
// The rounding differs from a direct convolution's (the transforms add and
// subtract before multiplying): about 1e-6 relative, within the fast float
// kernels' 1e-5. ONNX Runtime's CPU convolution is direct, so where a float
// convolution's result is quantized again (the float Conv of an s8 QDQ model)
// the runtime keeps the direct kernel, which sums in ONNX Runtime's order.
//
// Only call the kernel when cpu_features() has avx512f/bw/vl (and AVX2 +
// FMA); winograd_applies() says which geometries it takes.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/reference/conv.h"

namespace tinyq::kernels::x86 {

inline constexpr std::int64_t kWinogradPanel = 8;  // output channels per weight panel

// Group 1, 3x3, stride 1, dilation 1, with the spatial sizes known: even
// output height and width, and a tile row (out_w / 2 tiles) of a multiple of
// 16 tiles, or of 8 or 4 (so a 16-lane vector of tiles lies in one tile row
// or covers whole ones; the 32x32, 16x16 and 8x8 layers of a CIFAR ResNet).
bool winograd_applies(const Conv2DParams& geometry);

// U = G g G^T per (output, input) channel pair, [16][panels][in_channels][8]
// (channels past the last zero), computed in double and rounded once.
struct PackedWinogradF32 {
  std::int64_t out_channels = 0, panels = 0;
  std::vector<float> transformed_weights;
  std::vector<float> bias;  // padded to panels * 8
  Activation activation;
};
PackedWinogradF32 pack_winograd_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                                    Activation activation);

// p: the full geometry, with winograd_applies(p); x: NCHW input; sum: null,
// or a tensor of y's shape added before the activation (FusedConv's fourth
// input); y: NCHW output.
// Built twice, as conv_avx512 is: real instructions and SIMDe's portable ones.
namespace avx512 {
void winograd_conv3x3_f32(const Conv2DParams& p, const PackedWinogradF32& packed, const float* x, const float* sum, float* y);
}
namespace avx512_emulated {
void winograd_conv3x3_f32(const Conv2DParams& p, const PackedWinogradF32& packed, const float* x, const float* sum, float* y);
}

}  // namespace tinyq::kernels::x86
