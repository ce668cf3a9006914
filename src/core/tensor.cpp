#include "core/tensor.h"

#include <string>

#include "core/error.h"

namespace tinyq {

std::int64_t element_count(const Shape& shape) {
  // Shapes come from files: a product that overflows is a damaged file, not a
  // number to wrap around.
  std::int64_t count = 1;
  for (auto d : shape)
    if (__builtin_mul_overflow(count, d == kBatch ? 1 : d, &count))
      throw Error("shape " + shape_to_string(shape) + " has more elements than a 64-bit count holds");
  return count;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] == kBatch ? std::string("N") : std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (auto d : shape_)
    if (d < 0) throw Error("Tensor: dimension must be concrete and >= 0, got " + shape_to_string(shape_));
  element_count_ = static_cast<std::size_t>(tinyq::element_count(shape_));
  bytes_.resize(element_count_ * dtype_size(dtype_));
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t;
  t.dtype_ = dtype_;
  t.shape_ = std::move(shape);
  t.element_count_ = static_cast<std::size_t>(tinyq::element_count(t.shape_));
  if (t.element_count_ != element_count_)
    throw Error("reshape " + shape_to_string(shape_) + " -> " + shape_to_string(t.shape_) + " changes the element count");
  t.bytes_ = bytes_;
  return t;
}

void Tensor::check_type(DType wanted) const {
  if (wanted != dtype_)
    throw Error(std::string("tensor holds ") + std::string(dtype_name(dtype_)) + ", read as " +
                std::string(dtype_name(wanted)));
}

std::vector<std::int32_t> to_int32_vector(const Tensor& t, const std::string& what) {
  std::vector<std::int32_t> out;
  out.reserve(t.element_count());
  switch (t.dtype()) {
    case DType::u8: for (auto v : t.data<std::uint8_t>()) out.push_back(v); break;
    case DType::s8: for (auto v : t.data<std::int8_t>()) out.push_back(v); break;
    case DType::s32: for (auto v : t.data<std::int32_t>()) out.push_back(v); break;
    default: throw Error(what + " must be u8, s8 or s32, not " + std::string(dtype_name(t.dtype())));
  }
  return out;
}

}  // namespace tinyq
