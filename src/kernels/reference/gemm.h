#pragma once
// Y = alpha * op(A) * op(B) + beta * C (ONNX Gemm), with C broadcast from
// [N], [1, N], [M, 1] or [M, N] as the caller resolved it into c_row/c_col strides.
#include <cstdint>
#include <span>

namespace tinyq::kernels {

struct GemmParams {
  std::int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 1.f;
  // Strides of C along M and N (0 where C is broadcast); C may be empty.
  std::int64_t c_stride_m = 0, c_stride_n = 1;
};

void gemm_f32(const GemmParams& p, std::span<const float> a, std::span<const float> b, std::span<const float> c,
              std::span<float> y);

}  // namespace tinyq::kernels
