#include "kernels/reference/elementwise.h"

#include <algorithm>
#include <cmath>

namespace tinyq::kernels {
namespace {

// Element strides of `shape` as seen from an output of rank `rank` (0 where broadcast).
std::vector<std::int64_t> broadcast_strides(const std::vector<std::int64_t>& shape,
                                            const std::vector<std::int64_t>& out_shape) {
  const std::size_t rank = out_shape.size(), offset = rank - shape.size();
  std::vector<std::int64_t> strides(rank, 0);
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i + offset] = shape[i] == 1 && out_shape[i + offset] != 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

}  // namespace

void relu_f32(std::span<const float> x, std::span<float> y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] < 0.f ? 0.f : x[i];
}

void clip_f32(std::span<const float> x, float min, float max, std::span<float> y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = std::min(std::max(x[i], min), max);
}

void sigmoid_f32(std::span<const float> x, std::span<float> y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = 1.f / (1.f + std::exp(-x[i]));
}

void tanh_f32(std::span<const float> x, std::span<float> y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = std::tanh(x[i]);
}

void add_f32(const std::vector<std::int64_t>& a_shape, std::span<const float> a,
             const std::vector<std::int64_t>& b_shape, std::span<const float> b,
             const std::vector<std::int64_t>& out_shape, std::span<float> out) {
  if (a_shape == b_shape) {  // the residual-add case: no broadcasting at all
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] + b[i];
    return;
  }
  const auto sa = broadcast_strides(a_shape, out_shape), sb = broadcast_strides(b_shape, out_shape);
  const std::size_t rank = out_shape.size();
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t ia = 0, ib = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = a[ia] + b[ib];
    // Odometer increment over the output index, updating both input offsets.
    for (std::size_t d = rank; d-- > 0;) {
      ia += sa[d];
      ib += sb[d];
      if (++index[d] < out_shape[d]) break;
      ia -= sa[d] * out_shape[d];
      ib -= sb[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

}  // namespace tinyq::kernels
