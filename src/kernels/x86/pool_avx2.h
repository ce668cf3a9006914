#pragma once
// AVX2 global average pooling (the mean of each channel's plane), float and
// quantized. Compiled with -mavx2 -mfma -ffp-contract=off: call only when
// cpu_features().avx2 is true. Tested in tests/unit/fast_kernels_test.cpp.
#include <cstdint>
#include <span>

#include "kernels/reference/pool.h"
#include "kernels/reference/quantized.h"

namespace tinyq::kernels::x86 {

// Windowed 2-D pooling, bit for bit as the reference kernels: 8 output
// columns at a time where every window of the 8 lies inside the image (each
// lane adds its window in the reference's order, row by row), one position
// at a time elsewhere (the reference's formulas, clipped windows and all).
// The vector path takes column strides 1 and 2; other strides go position by
// position. QLinearAveragePool here: ONNX Runtime's rule only (the TFLite
// rules stay on the reference kernel).
void average_pool2d_f32_avx2(const Pool2DParams& p, std::span<const float> x, std::span<float> y);
void max_pool2d_f32_avx2(const Pool2DParams& p, std::span<const float> x, std::span<float> y);
template <typename T>
void max_pool2d_quantized_avx2(const Pool2DParams& p, std::span<const T> x, std::span<T> y);
template <typename T>
void qlinear_average_pool2d_avx2(const QAveragePoolParams& q, std::span<const T> x, std::span<T> y);

// As kernels::global_average_pool_f32, summing 8 partial sums per plane (a
// different order: within 1e-5 relative of the reference, not bit for bit).
void global_average_pool_f32_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const float> input,
                                  std::span<float> output);

// The integer sums of kernels::qlinear_global_average_pool: sums[i] = sum of
// x over plane i, exact (32 bytes at a time through vpsadbw).
template <typename T>
void plane_sums_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x, std::span<std::int32_t> sums);

}  // namespace tinyq::kernels::x86
