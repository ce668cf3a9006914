#include "kernels/reference/batchnorm.h"

#include <cmath>

namespace tinyq::kernels {

void batchnorm_f32(const BatchNormParams& p, std::span<const float> x, std::span<const float> scale,
                   std::span<const float> bias, std::span<const float> mean, std::span<const float> var,
                   std::span<float> y) {
  for (std::int64_t c = 0; c < p.channels; ++c) {
    const float inv_std = 1.f / std::sqrt(var[c] + p.epsilon);
    for (std::int64_t n = 0; n < p.batch; ++n) {
      const std::int64_t base = (n * p.channels + c) * p.plane;
      for (std::int64_t i = 0; i < p.plane; ++i) y[base + i] = (x[base + i] - mean[c]) * inv_std * scale[c] + bias[c];
    }
  }
}

}  // namespace tinyq::kernels
