#pragma once
#include "ir/graph.h"

namespace tinyq::passes {

// Folds an inference BatchNormalization into the Conv or Gemm (transB=1) that
// feeds it, when that producer has constant weights and no other reader:
//   s = gamma / sqrt(var + eps);  W'[o] = W[o] * s[o];  b'[o] = (b[o] - mean[o]) * s[o] + beta[o]
// Returns the number of folded nodes.
int fold_batchnorm(ir::Graph& graph);

}  // namespace tinyq::passes
