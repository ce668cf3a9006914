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
int fuse_qdq(ir::Graph& graph);

}  // namespace tinyq::passes
