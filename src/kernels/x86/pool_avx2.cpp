// Compiled with -mavx2 -mfma -ffp-contract=off (see src/CMakeLists.txt); the
// header says what it computes.
#include "kernels/x86/pool_avx2.h"

#include <immintrin.h>

#include <type_traits>

namespace tinyq::kernels::x86 {

void global_average_pool_f32_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const float> input,
                                  std::span<float> output) {
  for (std::int64_t i = 0; i < batch_channels; ++i) {
    const float* x = input.data() + i * plane;
    __m256 acc = _mm256_setzero_ps();
    std::int64_t j = 0;
    for (; j + 8 <= plane; j += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + j));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; j < plane; ++j) sum += x[j];
    output[i] = sum / static_cast<float>(plane);
  }
}

template <typename T>
void plane_sums_avx2(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x, std::span<std::int32_t> sums) {
  // s8 codes + 128 are u8: vpsadbw against 0 sums 8 of them per 64-bit lane;
  // the 128s come off at the end.
  const __m256i flip = _mm256_set1_epi8(std::is_signed_v<T> ? static_cast<char>(0x80) : 0);
  for (std::int64_t i = 0; i < batch_channels; ++i) {
    const T* row = x.data() + i * plane;
    __m256i acc = _mm256_setzero_si256();
    std::int64_t j = 0;
    for (; j + 32 <= plane; j += 32) {
      const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + j)), flip);
      acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, _mm256_setzero_si256()));
    }
    alignas(32) std::int64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
    std::int64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    if constexpr (std::is_signed_v<T>) sum -= 128 * j;
    for (; j < plane; ++j) sum += row[j];
    sums[i] = static_cast<std::int32_t>(sum);
  }
}

template void plane_sums_avx2<std::uint8_t>(std::int64_t, std::int64_t, std::span<const std::uint8_t>, std::span<std::int32_t>);
template void plane_sums_avx2<std::int8_t>(std::int64_t, std::int64_t, std::span<const std::int8_t>, std::span<std::int32_t>);

}  // namespace tinyq::kernels::x86
