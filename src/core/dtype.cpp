#include "core/dtype.h"

namespace tinyq {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::u8: return 1;
    case DType::s8: return 1;
    case DType::s32: return 4;
    case DType::s64: return 8;
  }
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::u8: return "u8";
    case DType::s8: return "s8";
    case DType::s32: return "s32";
    case DType::s64: return "s64";
  }
  return "?";
}

}  // namespace tinyq
