// The packing for gemm_avx2: plain code, no ISA flags (std::vector's inline
// code must not be compiled for AVX2 here and kept by the linker for others).
#include "kernels/x86/gemm_avx2.h"

namespace tinyq::kernels::x86 {

std::vector<float> pack_gemm_b(const GemmParams& p, std::span<const float> b) {
  std::vector<float> packed(static_cast<std::size_t>(p.k * p.n));
  for (std::int64_t t = 0; t < p.k; ++t)
    for (std::int64_t j = 0; j < p.n; ++j) packed[t * p.n + j] = p.trans_b ? b[j * p.k + t] : b[t * p.n + j];
  return packed;
}

template <typename TB>
std::vector<std::int16_t> pack_qmatmul_b(std::int64_t k, std::int64_t n, std::span<const TB> b, std::span<const std::int32_t> b_zp) {
  const std::int64_t pairs = (k + 1) / 2;
  std::vector<std::int16_t> packed(static_cast<std::size_t>(pairs * n * 2), 0);
  for (std::int64_t t = 0; t < k; ++t)
    for (std::int64_t j = 0; j < n; ++j)
      packed[((t / 2) * n + j) * 2 + t % 2] =
          static_cast<std::int16_t>(static_cast<std::int32_t>(b[t * n + j]) - b_zp[b_zp.size() > 1 ? j : 0]);
  return packed;
}

template std::vector<std::int16_t> pack_qmatmul_b<std::uint8_t>(std::int64_t, std::int64_t, std::span<const std::uint8_t>,
                                                                std::span<const std::int32_t>);
template std::vector<std::int16_t> pack_qmatmul_b<std::int8_t>(std::int64_t, std::int64_t, std::span<const std::int8_t>,
                                                               std::span<const std::int32_t>);

}  // namespace tinyq::kernels::x86
