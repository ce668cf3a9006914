#pragma once
// AVX2 matrix products: ONNX Gemm/MatMul in float and QLinearMatMul's integer
// core, bit for bit equal to kernels/reference (tested in
// tests/unit/fast_kernels_test.cpp). Compiled with -mavx2 -mfma
// -ffp-contract=off: call only when cpu_features().avx2 is true.
//
// Both go 8 output columns at a time, each lane doing exactly what the
// reference does for its column: the float product sums a * b over k in
// order with a separate multiply and add (the reference is built without
// FMA), then alpha * sum + beta * c; the integer one adds (a - a_zp) * (b -
// b_zp) in int32, two k at a time through vpmaddwd, which is exact (its
// products and their pairwise sums fit 32 bits; only vpmaddubsw saturates).
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/reference/gemm.h"

namespace tinyq::kernels::x86 {

// op(B) as [k][n], row-major: what the float kernel reads. The packing
// functions are plain code (gemm_pack.cpp), callable on any CPU.
std::vector<float> pack_gemm_b(const GemmParams& p, std::span<const float> b);

// Y = alpha * op(A) * B_packed + beta * C, as kernels::gemm_f32.
void gemm_f32_avx2(const GemmParams& p, std::span<const float> a, std::span<const float> b_packed, std::span<const float> c,
                   std::span<float> y);

// QLinearMatMul's B [k, n] as pairs of k: [ceil(k / 2)][n][2] int16 values b
// - b_zp[column] (0 for the pad when k is odd).
template <typename TB>
std::vector<std::int16_t> pack_qmatmul_b(std::int64_t k, std::int64_t n, std::span<const TB> b, std::span<const std::int32_t> b_zp);

// acc[i, j] = sum_t (a[i, t] - a_zp) * (b[t, j] - b_zp[j]), as
// kernels::qlinear_matmul_accumulate.
template <typename TA>
void qlinear_matmul_accumulate_avx2(std::int64_t m, std::int64_t n, std::int64_t k, std::span<const TA> a, std::int32_t a_zp,
                                    std::span<const std::int16_t> b_packed, std::span<std::int32_t> acc);

}  // namespace tinyq::kernels::x86
