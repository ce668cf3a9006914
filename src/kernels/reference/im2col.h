#pragma once
// im2col for one image and one group: column k = (ic, kh, kw) in that order,
// row p = output position. Padding positions get `pad_value`. Kernels then
// accumulate each tap over all output positions in one contiguous loop,
// keeping the same summation order per output as a direct convolution.
#include <cstdint>
#include <vector>

#include "kernels/reference/conv.h"

namespace tinyq::kernels {

template <typename Out, typename In, typename Transform>
void im2col(const Conv2DParams& p, const In* image, std::int64_t first_channel, std::int64_t channels, Out pad_value,
            Transform transform, std::vector<Out>& columns) {
  const std::int64_t plane = p.out_h * p.out_w;
  columns.resize(static_cast<std::size_t>(channels * p.kernel_h * p.kernel_w * plane));
  Out* col = columns.data();
  for (std::int64_t c = 0; c < channels; ++c) {
    const In* in = image + (first_channel + c) * p.in_h * p.in_w;
    for (std::int64_t kh = 0; kh < p.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < p.kernel_w; ++kw)
        for (std::int64_t oh = 0; oh < p.out_h; ++oh) {
          const std::int64_t ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top;
          for (std::int64_t ow = 0; ow < p.out_w; ++ow) {
            const std::int64_t iw = ow * p.stride_w + kw * p.dilation_w - p.pad_left;
            *col++ = (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) ? pad_value : transform(in[ih * p.in_w + iw]);
          }
        }
  }
}

}  // namespace tinyq::kernels
