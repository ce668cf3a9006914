#pragma once
// A dense, row-major tensor that owns its bytes. Typed access goes through
// data<T>(), which checks the element type so a u8 buffer is never read as f32.
#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"

namespace tinyq {

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled; every dimension must be >= 0

  template <typename T>
  static Tensor from(Shape shape, std::span<const T> values) {
    Tensor t(dtype_of<T>(), std::move(shape));
    if (values.size() != t.element_count()) throw Error("Tensor::from: value count does not match shape");
    std::copy(values.begin(), values.end(), t.data<T>().begin());
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t element_count() const { return element_count_; }
  std::size_t byte_size() const { return bytes_.size(); }
  std::span<std::byte> bytes() { return bytes_; }
  std::span<const std::byte> bytes() const { return bytes_; }

  template <typename T> std::span<T> data() {
    check_type(dtype_of<T>());
    return {reinterpret_cast<T*>(bytes_.data()), element_count_};
  }
  template <typename T> std::span<const T> data() const {
    check_type(dtype_of<T>());
    return {reinterpret_cast<const T*>(bytes_.data()), element_count_};
  }

  // Same bytes under a new shape with the same element count (Flatten, Reshape).
  Tensor reshaped(Shape shape) const;

 private:
  void check_type(DType wanted) const;

  DType dtype_ = DType::f32;
  Shape shape_;
  std::size_t element_count_ = 0;
  std::vector<std::byte> bytes_;
};

// The elements of a u8, s8 or s32 tensor as int32 (zero points, biases,
// quantized weights). Throws Error naming `what` for any other element type.
std::vector<std::int32_t> to_int32_vector(const Tensor& t, const std::string& what);

}  // namespace tinyq
