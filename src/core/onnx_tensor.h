#pragma once
// Element-type and tensor conversions between tinyq and ONNX protobuf (the
// ONNX counterpart of core/npy.h), shared by the ONNX importer and exporter.
#include <onnx/onnx_pb.h>

#include <string>

#include "core/tensor.h"

namespace tinyq {

int onnx_elem_type(DType dtype);
// Throws Error for element types tinyq does not handle.
DType dtype_from_onnx(int elem_type, const std::string& where);

onnx::TensorProto to_tensor_proto(const std::string& name, const Tensor& tensor);
// Validates dims and data size before allocating; `where` names the tensor in errors.
Tensor from_tensor_proto(const onnx::TensorProto& proto, const std::string& where);

}  // namespace tinyq
