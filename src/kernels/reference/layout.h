#pragma once
// Data movement kernels, element-size generic (they work on raw bytes).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tinyq::kernels {

// out[perm-ordered index] = in[index]; out_shape[i] = in_shape[perm[i]].
void transpose(const std::vector<std::int64_t>& in_shape, const std::vector<std::int64_t>& perm,
               std::size_t element_size, std::span<const std::byte> in, std::span<std::byte> out);

// Constant padding; pads = [begin_0..begin_r-1, end_0..end_r-1]; `fill` is one
// element's bytes.
void pad_constant(const std::vector<std::int64_t>& in_shape, const std::vector<std::int64_t>& pads,
                  std::span<const std::byte> fill, std::span<const std::byte> in, std::span<std::byte> out);

}  // namespace tinyq::kernels
