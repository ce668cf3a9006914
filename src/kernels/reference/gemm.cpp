#include "kernels/reference/gemm.h"

namespace tinyq::kernels {

void gemm_f32(const GemmParams& p, std::span<const float> a, std::span<const float> b, std::span<const float> c,
              std::span<float> y) {
  for (std::int64_t i = 0; i < p.m; ++i) {
    for (std::int64_t j = 0; j < p.n; ++j) {
      float acc = 0.f;
      for (std::int64_t k = 0; k < p.k; ++k) {
        const float av = p.trans_a ? a[k * p.m + i] : a[i * p.k + k];
        const float bv = p.trans_b ? b[j * p.k + k] : b[k * p.n + j];
        acc += av * bv;
      }
      float out = p.alpha * acc;
      if (!c.empty()) out += p.beta * c[i * p.c_stride_m + j * p.c_stride_n];
      y[i * p.n + j] = out;
    }
  }
}

}  // namespace tinyq::kernels
