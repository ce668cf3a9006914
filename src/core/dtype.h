#pragma once
// Element types, named by their numeric format (f32, u8, s8, s32, s64) as in
// the rest of tinyq. s64 exists because ONNX shape tensors are int64.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tinyq {

enum class DType : std::uint8_t { f32, u8, s8, s32, s64 };

std::size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<std::int8_t>() { return DType::s8; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::s32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::s64; }

}  // namespace tinyq
