#include "core/onnx_tensor.h"

#include <cstring>

#include "core/error.h"

namespace tinyq {

int onnx_elem_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return onnx::TensorProto::FLOAT;
    case DType::u8: return onnx::TensorProto::UINT8;
    case DType::s8: return onnx::TensorProto::INT8;
    case DType::s32: return onnx::TensorProto::INT32;
    case DType::s64: return onnx::TensorProto::INT64;
  }
  return onnx::TensorProto::UNDEFINED;
}

DType dtype_from_onnx(int elem_type, const std::string& where) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT: return DType::f32;
    case onnx::TensorProto::UINT8: return DType::u8;
    case onnx::TensorProto::INT8: return DType::s8;
    case onnx::TensorProto::INT32: return DType::s32;
    case onnx::TensorProto::INT64: return DType::s64;
    default:
      throw Error(where + ": element type " + onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(elem_type)) +
                  " is not supported (float, uint8, int8, int32, int64)");
  }
}

onnx::TensorProto to_tensor_proto(const std::string& name, const Tensor& tensor) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(onnx_elem_type(tensor.dtype()));
  for (auto d : tensor.shape()) proto.add_dims(d);
  // raw_data is little-endian, as this machine is.
  proto.set_raw_data(reinterpret_cast<const char*>(tensor.bytes().data()), tensor.byte_size());
  return proto;
}

Tensor from_tensor_proto(const onnx::TensorProto& proto, const std::string& where) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) throw Error(where + ": external tensor data is not supported");
  const DType dtype = dtype_from_onnx(proto.data_type(), where);
  Shape shape;
  std::uint64_t count = 1;
  for (auto d : proto.dims()) {
    if (d < 0) throw Error(where + ": negative dimension " + std::to_string(d));
    shape.push_back(d);
    if (__builtin_mul_overflow(count, static_cast<std::uint64_t>(d), &count))
      throw Error(where + ": dims " + shape_to_string(shape) + "... multiply beyond 64 bits");
  }
  // The data present bounds the allocation, whatever the dims claim.
  std::size_t available = 0;
  if (proto.has_raw_data()) available = proto.raw_data().size() / dtype_size(dtype);
  else if (dtype == DType::f32) available = static_cast<std::size_t>(proto.float_data_size());
  else if (dtype == DType::s64) available = static_cast<std::size_t>(proto.int64_data_size());
  else available = static_cast<std::size_t>(proto.int32_data_size());  // int32, int8, uint8 live in int32_data
  if (count != available || (proto.has_raw_data() && proto.raw_data().size() % dtype_size(dtype)))
    throw Error(where + ": dims " + shape_to_string(shape) + " need " + std::to_string(count) +
                " elements, the data holds " + std::to_string(available));
  Tensor t(dtype, shape);
  if (proto.has_raw_data()) {
    std::memcpy(t.bytes().data(), proto.raw_data().data(), t.byte_size());
    return t;
  }
  switch (dtype) {
    case DType::f32: std::copy(proto.float_data().begin(), proto.float_data().end(), t.data<float>().begin()); break;
    case DType::s64: std::copy(proto.int64_data().begin(), proto.int64_data().end(), t.data<std::int64_t>().begin()); break;
    case DType::s32: std::copy(proto.int32_data().begin(), proto.int32_data().end(), t.data<std::int32_t>().begin()); break;
    case DType::u8:
      for (int i = 0; i < proto.int32_data_size(); ++i) t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(proto.int32_data(i));
      break;
    case DType::s8:
      for (int i = 0; i < proto.int32_data_size(); ++i) t.data<std::int8_t>()[i] = static_cast<std::int8_t>(proto.int32_data(i));
      break;
  }
  return t;
}

}  // namespace tinyq
