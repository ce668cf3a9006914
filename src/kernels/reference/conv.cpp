#include "kernels/reference/conv.h"

#include <algorithm>

namespace tinyq::kernels {

void conv2d_f32(const Conv2DParams& p, std::span<const float> input, std::span<const float> weight,
                std::span<const float> bias, std::span<float> output, Activation activation) {
  const std::int64_t in_per_group = p.in_channels / p.group;
  const std::int64_t out_per_group = p.out_channels / p.group;
  const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    for (std::int64_t oc = 0; oc < p.out_channels; ++oc) {
      const std::int64_t g = oc / out_per_group;
      float* out = output.data() + (n * p.out_channels + oc) * out_plane;
      std::fill(out, out + out_plane, bias.empty() ? 0.f : bias[oc]);
      // Accumulate one (input channel, kernel tap) at a time over the whole
      // output plane: the inner loop runs along a row, which the compiler
      // vectorizes for stride 1, and each output keeps a fixed summation order.
      for (std::int64_t icg = 0; icg < in_per_group; ++icg) {
        const std::int64_t ic = g * in_per_group + icg;
        const float* in = input.data() + (n * p.in_channels + ic) * in_plane;
        const float* w = weight.data() + (oc * in_per_group + icg) * p.kernel_h * p.kernel_w;
        for (std::int64_t kh = 0; kh < p.kernel_h; ++kh) {
          for (std::int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const float wv = w[kh * p.kernel_w + kw];
            // Output columns whose input column falls inside the image.
            const std::int64_t col_offset = kw * p.dilation_w - p.pad_left;
            std::int64_t ow_begin = 0, ow_end = p.out_w;
            while (ow_begin < ow_end && ow_begin * p.stride_w + col_offset < 0) ++ow_begin;
            while (ow_end > ow_begin && (ow_end - 1) * p.stride_w + col_offset >= p.in_w) --ow_end;
            for (std::int64_t oh = 0; oh < p.out_h; ++oh) {
              const std::int64_t ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top;
              if (ih < 0 || ih >= p.in_h) continue;
              const float* in_row = in + ih * p.in_w + col_offset;
              float* out_row = out + oh * p.out_w;
              if (p.stride_w == 1) {
                for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) out_row[ow] += wv * in_row[ow];
              } else {
                for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) out_row[ow] += wv * in_row[ow * p.stride_w];
              }
            }
          }
        }
      }
      if (activation.kind != Activation::Kind::none)
        for (std::int64_t i = 0; i < out_plane; ++i) out[i] = activation.apply(out[i]);
    }
  }
}

}  // namespace tinyq::kernels
