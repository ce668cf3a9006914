#pragma once
// Element-wise float kernels: activations and the broadcasting Add.
#include <cstdint>
#include <span>
#include <vector>

namespace tinyq::kernels {

void relu_f32(std::span<const float> x, std::span<float> y);
void clip_f32(std::span<const float> x, float min, float max, std::span<float> y);
void sigmoid_f32(std::span<const float> x, std::span<float> y);
void tanh_f32(std::span<const float> x, std::span<float> y);

// NumPy-style broadcasting: each input's shape is right-aligned against the
// output shape; a dimension of 1 repeats.
void add_f32(const std::vector<std::int64_t>& a_shape, std::span<const float> a,
             const std::vector<std::int64_t>& b_shape, std::span<const float> b,
             const std::vector<std::int64_t>& out_shape, std::span<float> out);

}  // namespace tinyq::kernels
