#pragma once
// Float 2-D convolution (group 1) with AVX-512: conv_avx2's algorithm and
// packed weights (PackedConvF32) on 16-lane vectors, so twice the outputs per
// instruction, and two weight panels (8 channels) x 32 positions per
// micro-kernel call: 16 independent accumulators, twice conv_avx2's, which
// the 32 registers allow and the FMA latency needs. Every output is summed in the same order as conv_avx2 (and as
// ONNX Runtime's SGEMM: slices of taps, each a chain of fused multiply-adds
// from zero, then added in order, the bias last), so the two kernels agree
// bit for bit; tests/unit/fast_kernels_test.cpp checks that and the
// reference (1e-5 relative).
//
// Only call this when cpu_features() has avx512f/bw/vl (and AVX2 + FMA):
// this file's code is compiled with those flags (see src/CMakeLists.txt).
#include "kernels/reference/conv.h"
#include "kernels/x86/conv_avx2.h"

namespace tinyq::kernels::x86 {

// Built twice from conv_avx512.cpp, as the VNNI kernel is: real instructions
// (avx512) and SIMDe's portable ones for the tests (avx512_emulated).
namespace avx512 {
void conv2d_f32(const Conv2DParams& p, const PackedConvF32& packed, const float* x, float* y);
}
namespace avx512_emulated {
void conv2d_f32(const Conv2DParams& p, const PackedConvF32& packed, const float* x, float* y);
}

}  // namespace tinyq::kernels::x86
