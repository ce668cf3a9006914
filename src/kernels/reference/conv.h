#pragma once
// 2-D convolution, ONNX Conv semantics: NCHW input, OIHW weight (I = C/group),
// explicit asymmetric pads, strides, dilations, groups (depthwise when
// group == C). Plain loops; this is the executable specification.
#include <cstdint>
#include <span>

namespace tinyq::kernels {

struct Conv2DParams {
  std::int64_t batch = 1;
  std::int64_t in_channels = 0, in_h = 0, in_w = 0;
  std::int64_t out_channels = 0, out_h = 0, out_w = 0;
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t pad_top = 0, pad_left = 0;  // bottom/right pads only shape the output size
  std::int64_t group = 1;
};

// Optional fused activation applied to each output (ORT's FusedConv).
struct Activation {
  enum class Kind { none, relu, clip } kind = Kind::none;
  float min = 0.f, max = 0.f;
  float apply(float v) const {
    switch (kind) {
      case Kind::none: return v;
      case Kind::relu: return v < 0.f ? 0.f : v;
      case Kind::clip: return v < min ? min : (v > max ? max : v);
    }
    return v;
  }
};

// y = activation(y + sum), element by element: FusedConv's sum input (the
// other branch of a residual block) where a kernel does not take it itself.
void add_sum_and_activate_f32(std::span<float> y, std::span<const float> sum, Activation activation);

// bias may be empty.
void conv2d_f32(const Conv2DParams& p, std::span<const float> input, std::span<const float> weight,
                std::span<const float> bias, std::span<float> output, Activation activation = {});

}  // namespace tinyq::kernels
