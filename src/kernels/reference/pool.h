#pragma once
// 2-D average and max pooling, ONNX semantics, NCHW. Padded positions are
// never part of a max; for an average they count only when
// count_include_pad is set (TensorFlow 'same' average pooling excludes them).
#include <cstdint>
#include <span>

namespace tinyq::kernels {

struct Pool2DParams {
  std::int64_t batch = 1, channels = 0;
  std::int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;
};

void average_pool2d_f32(const Pool2DParams& p, std::span<const float> input, std::span<float> output);
void max_pool2d_f32(const Pool2DParams& p, std::span<const float> input, std::span<float> output);
// Mean over each channel's spatial plane: [N, C, plane] -> [N, C].
void global_average_pool_f32(std::int64_t batch_channels, std::int64_t plane, std::span<const float> input,
                             std::span<float> output);

}  // namespace tinyq::kernels
