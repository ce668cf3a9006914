#pragma once
// AVX2 global average pooling (the mean of each channel's plane), float and
// quantized. Compiled with -mavx2 -mfma -ffp-contract=off: call only when
// cpu_features().avx2 is true. Tested in tests/unit/fast_kernels_test.cpp.
#include <cstdint>
#include <span>

namespace tinyq::kernels::x86 {

// As kernels::global_average_pool_f32, summing 8 partial sums per plane (a
// different order: within 1e-5 relative of the reference, not bit for bit).
void global_average_pool_f32_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const float> input,
                                  std::span<float> output);

// The integer sums of kernels::qlinear_global_average_pool: sums[i] = sum of
// x over plane i, exact (32 bytes at a time through vpsadbw).
template <typename T>
void plane_sums_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x, std::span<std::int32_t> sums);

}  // namespace tinyq::kernels::x86
