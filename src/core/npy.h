#pragma once
// NumPy .npy files (format 1.0/2.0, little-endian, C order) for f32, u8, s8,
// s32 and s64 tensors: index lists in, model outputs and golden vectors out.
#include <filesystem>
#include <string>

#include "core/tensor.h"

namespace tinyq {

Tensor read_npy(const std::filesystem::path& path);
std::string encode_npy(const Tensor& tensor);
void write_npy(const std::filesystem::path& path, const Tensor& tensor);  // atomic

}  // namespace tinyq
