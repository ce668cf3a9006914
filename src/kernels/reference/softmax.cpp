#include "kernels/reference/softmax.h"

#include <algorithm>
#include <cmath>

namespace tinyq::kernels {

void softmax_f32(std::int64_t outer, std::int64_t axis_len, std::int64_t inner, std::span<const float> x,
                 std::span<float> y) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      const std::int64_t base = o * axis_len * inner + i;
      float max = x[base];
      for (std::int64_t a = 1; a < axis_len; ++a) max = std::max(max, x[base + a * inner]);
      float sum = 0.f;
      for (std::int64_t a = 0; a < axis_len; ++a) {
        const float e = std::exp(x[base + a * inner] - max);
        y[base + a * inner] = e;
        sum += e;
      }
      for (std::int64_t a = 0; a < axis_len; ++a) y[base + a * inner] /= sum;
    }
  }
}

}  // namespace tinyq::kernels
