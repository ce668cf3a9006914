#include "kernels/reference/pool.h"

#include <algorithm>
#include <limits>

namespace tinyq::kernels {
namespace {

// Runs `reduce` over each output position's window, clipped to the image, and
// also passes the window's area clipped only to the padded extent (the
// divisor when count_include_pad is set).
template <typename Reduce>
void pool2d(const Pool2DParams& p, std::span<const float> input, std::span<float> output, Reduce reduce) {
  for (std::int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
    const float* in = input.data() + nc * p.in_h * p.in_w;
    float* out = output.data() + nc * p.out_h * p.out_w;
    for (std::int64_t oh = 0; oh < p.out_h; ++oh) {
      for (std::int64_t ow = 0; ow < p.out_w; ++ow) {
        const std::int64_t h0 = oh * p.stride_h - p.pad_top, w0 = ow * p.stride_w - p.pad_left;
        const std::int64_t h1 = h0 + p.kernel_h, w1 = w0 + p.kernel_w;
        // Window clipped to the padded extent (for count_include_pad) and to the image.
        const std::int64_t padded_area = (std::min(h1, p.in_h + p.pad_bottom) - std::max(h0, -p.pad_top)) *
                                         (std::min(w1, p.in_w + p.pad_right) - std::max(w0, -p.pad_left));
        out[oh * p.out_w + ow] = reduce(in, std::max<std::int64_t>(h0, 0), std::min(h1, p.in_h),
                                        std::max<std::int64_t>(w0, 0), std::min(w1, p.in_w), padded_area);
      }
    }
  }
}

}  // namespace

void average_pool2d_f32(const Pool2DParams& p, std::span<const float> input, std::span<float> output) {
  pool2d(p, input, output,
         [&](const float* in, std::int64_t h0, std::int64_t h1, std::int64_t w0, std::int64_t w1, std::int64_t padded) {
           float sum = 0.f;
           for (std::int64_t h = h0; h < h1; ++h)
             for (std::int64_t w = w0; w < w1; ++w) sum += in[h * p.in_w + w];
           const std::int64_t count = p.count_include_pad ? padded : (h1 - h0) * (w1 - w0);
           return count > 0 ? sum / static_cast<float>(count) : 0.f;
         });
}

void max_pool2d_f32(const Pool2DParams& p, std::span<const float> input, std::span<float> output) {
  pool2d(p, input, output, [&](const float* in, std::int64_t h0, std::int64_t h1, std::int64_t w0, std::int64_t w1, std::int64_t) {
    float best = -std::numeric_limits<float>::infinity();
    for (std::int64_t h = h0; h < h1; ++h)
      for (std::int64_t w = w0; w < w1; ++w) best = std::max(best, in[h * p.in_w + w]);
    return best;
  });
}

void global_average_pool_f32(std::int64_t batch_channels, std::int64_t plane, std::span<const float> input,
                             std::span<float> output) {
  for (std::int64_t i = 0; i < batch_channels; ++i) {
    float sum = 0.f;
    for (std::int64_t j = 0; j < plane; ++j) sum += input[i * plane + j];
    output[i] = sum / static_cast<float>(plane);
  }
}

}  // namespace tinyq::kernels
