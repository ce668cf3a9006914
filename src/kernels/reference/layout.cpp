#include "kernels/reference/layout.h"

#include <cstring>

namespace tinyq::kernels {

void transpose(const std::vector<std::int64_t>& in_shape, const std::vector<std::int64_t>& perm,
               std::size_t element_size, std::span<const std::byte> in, std::span<std::byte> out) {
  const std::size_t rank = in_shape.size();
  std::vector<std::int64_t> in_strides(rank, 1), out_shape(rank), src_stride(rank);
  for (std::size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * in_shape[i];
  for (std::size_t i = 0; i < rank; ++i) {
    out_shape[i] = in_shape[perm[i]];
    src_stride[i] = in_strides[perm[i]];
  }
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t src = 0;
  const std::size_t count = out.size() / element_size;
  for (std::size_t o = 0; o < count; ++o) {
    std::memcpy(out.data() + o * element_size, in.data() + src * element_size, element_size);
    for (std::size_t d = rank; d-- > 0;) {
      src += src_stride[d];
      if (++index[d] < out_shape[d]) break;
      src -= src_stride[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

void pad_constant(const std::vector<std::int64_t>& in_shape, const std::vector<std::int64_t>& pads,
                  std::span<const std::byte> fill, std::span<const std::byte> in, std::span<std::byte> out) {
  const std::size_t rank = in_shape.size(), es = fill.size();
  std::vector<std::int64_t> out_shape(rank), out_strides(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) out_shape[i] = in_shape[i] + pads[i] + pads[i + rank];
  for (std::size_t i = rank; i-- > 1;) out_strides[i - 1] = out_strides[i] * out_shape[i];
  for (std::size_t o = 0; o < out.size() / es; ++o) std::memcpy(out.data() + o * es, fill.data(), es);
  // Copy the input row by row (last dimension contiguous) into its padded place.
  const std::int64_t row = rank ? in_shape[rank - 1] : 1;
  const std::size_t rows = row ? in.size() / es / static_cast<std::size_t>(row) : 0;
  std::vector<std::int64_t> index(rank, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    std::int64_t dst = 0;
    for (std::size_t d = 0; d < rank; ++d) dst += (index[d] + pads[d]) * out_strides[d];
    std::memcpy(out.data() + dst * es, in.data() + r * row * es, row * es);
    for (std::size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < in_shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace tinyq::kernels
