#pragma once
// Inference-mode BatchNormalization, ONNX semantics over axis 1:
// y = (x - mean) / sqrt(var + epsilon) * scale + bias.
#include <cstdint>
#include <span>

namespace tinyq::kernels {

struct BatchNormParams {
  std::int64_t batch = 1, channels = 0, plane = 1;  // plane = product of dims after the channel axis
  float epsilon = 1e-5f;
};

void batchnorm_f32(const BatchNormParams& p, std::span<const float> x, std::span<const float> scale,
                   std::span<const float> bias, std::span<const float> mean, std::span<const float> var,
                   std::span<float> y);

}  // namespace tinyq::kernels
