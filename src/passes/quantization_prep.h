#pragma once
#include "ir/graph.h"

namespace tinyq::passes {

// AveragePool whose window covers the whole (unpadded) input is a
// GlobalAveragePool, which has an exact integer form (QLinearGlobalAveragePool).
int average_pool_to_global(ir::Graph& graph);

// Flatten of an [N, C, 1, 1] tensor followed by Gemm(transB=1) is a 1x1 Conv
// followed by Flatten: the classifier then quantizes as QLinearConv with an
// exact int32 bias instead of needing a float bias add.
int gemm_to_pointwise_conv(ir::Graph& graph);

}  // namespace tinyq::passes
