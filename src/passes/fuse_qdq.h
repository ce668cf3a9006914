#pragma once
#include "ir/graph.h"

namespace tinyq::passes {

// Rewrites QDQ patterns into QOperator nodes, as ONNX Runtime's QDQ
// transformer does before it runs a QDQ model:
//   DQ(x), DQ(w), [DQ(b)] -> Conv -> Q          =>  QLinearConv
//   DQ(a), DQ(b const) -> MatMul -> Q           =>  QLinearMatMul
//   DQ(a), DQ(b) -> Add -> Q                    =>  com.microsoft QLinearAdd
//   DQ(x) -> GlobalAveragePool -> Q             =>  com.microsoft QLinearGlobalAveragePool
//   DQ(x) -> MaxPool|Flatten|Reshape|Transpose -> Q, same scale and zero point
//                                               =>  the op on the quantized tensor
// Dequantize nodes left without readers are removed. Returns the number of fusions.
//
// Which patterns fuse depends on the element type, as in ONNX Runtime's x86
// CPU build: its Conv and MatMul selectors accept s8 activations only where
// QDQIsInt8Allowed() (ARM builds), so on x86 an s8 Conv/MatMul stays
// DQ -> float op -> Q, computed in float. Add, GlobalAveragePool and the data
// movement ops fuse for u8 and s8 alike. `Target::qoperator` fuses everything
// (what `quantize --format qop` writes, where the file itself says QLinearConv).
enum class FuseTarget { onnxruntime_x86, qoperator };
int fuse_qdq(ir::Graph& graph, FuseTarget target = FuseTarget::onnxruntime_x86);

}  // namespace tinyq::passes
