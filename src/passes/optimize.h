#pragma once
#include "ir/graph.h"

namespace tinyq::passes {

struct OptimizeOptions {
  bool fold_batchnorm = true;
  bool fuse_activations = true;
};

// The inference pipeline the evaluator runs: fold, fuse, then verify.
void optimize_for_inference(ir::Graph& graph, const OptimizeOptions& options = {});

}  // namespace tinyq::passes
