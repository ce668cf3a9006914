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
// What fuses follows ONNX Runtime's x86 CPU build. It first turns s8
// activation Q -> DQ pairs into u8 ones (QDQS8ToU8Transformer: zero point
// + 128, when the Q's only reader is the DQ and its output is no graph
// output), so an s8 model usually runs as its u8 twin. Where an s8 pair stays
// (a Q whose output is also a graph output, as when every tensor is exposed),
// its Conv and MatMul selectors refuse s8 activations (QDQIsInt8Allowed() is
// true on ARM only): that Conv/MatMul stays DQ -> float op -> Q, computed in
// float. Add, GlobalAveragePool and the data movement ops fuse for u8 and s8
// alike. `FuseTarget::qoperator` fuses everything as written (what `quantize
// --format qop` writes, where the file itself says QLinearConv).
enum class FuseTarget { onnxruntime_x86, qoperator };
int fuse_qdq(ir::Graph& graph, FuseTarget target = FuseTarget::onnxruntime_x86);

}  // namespace tinyq::passes
