#include "kernels/reference/conv.h"

#include <algorithm>
#include <vector>

#include "kernels/reference/im2col.h"

namespace tinyq::kernels {

void add_sum_and_activate_f32(std::span<float> y, std::span<const float> sum, Activation activation) {
  // One loop per kind, so that each vectorises.
  switch (activation.kind) {
    case Activation::Kind::none:
      for (std::size_t i = 0; i < y.size(); ++i) y[i] += sum[i];
      return;
    case Activation::Kind::relu:
      for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::max(y[i] + sum[i], 0.f);
      return;
    case Activation::Kind::clip:
      for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::min(std::max(y[i] + sum[i], activation.min), activation.max);
      return;
  }
}

void conv2d_f32(const Conv2DParams& p, std::span<const float> input, std::span<const float> weight,
                std::span<const float> bias, std::span<float> output, Activation activation) {
  const std::int64_t in_per_group = p.in_channels / p.group;
  const std::int64_t out_per_group = p.out_channels / p.group;
  const std::int64_t taps = in_per_group * p.kernel_h * p.kernel_w, plane = p.out_h * p.out_w;
  std::vector<float> columns;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    for (std::int64_t g = 0; g < p.group; ++g) {
      im2col(p, input.data() + n * p.in_channels * p.in_h * p.in_w, g * in_per_group, in_per_group, 0.f,
             [](float v) { return v; }, columns);
      for (std::int64_t ocg = 0; ocg < out_per_group; ++ocg) {
        const std::int64_t oc = g * out_per_group + ocg;
        float* out = output.data() + (n * p.out_channels + oc) * plane;
        std::fill(out, out + plane, bias.empty() ? 0.f : bias[oc]);
        // One tap (ic, kh, kw) at a time over every output position: each
        // output still sums its terms in (ic, kh, kw) order.
        const float* w = weight.data() + oc * taps;
        for (std::int64_t k = 0; k < taps; ++k) {
          const float wv = w[k];
          const float* col = columns.data() + k * plane;
          for (std::int64_t i = 0; i < plane; ++i) out[i] += wv * col[i];
        }
        if (activation.kind != Activation::Kind::none)
          for (std::int64_t i = 0; i < plane; ++i) out[i] = activation.apply(out[i]);
      }
    }
  }
}

}  // namespace tinyq::kernels
