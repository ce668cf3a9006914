#pragma once
// Softmax along one axis (ONNX opset 13): the tensor is viewed as
// [outer, axis_len, inner]. The maximum is subtracted first so exp never overflows.
#include <cstdint>
#include <span>

namespace tinyq::kernels {

void softmax_f32(std::int64_t outer, std::int64_t axis_len, std::int64_t inner, std::span<const float> x,
                 std::span<float> y);

}  // namespace tinyq::kernels
