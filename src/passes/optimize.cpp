#include "passes/optimize.h"

#include "ir/verifier.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activation.h"
#include "passes/fold_constant_dequantize.h"
#include "passes/fuse_qdq.h"
#include "passes/fuse_residual_add.h"

namespace tinyq::passes {

void optimize_for_inference(ir::Graph& graph, const OptimizeOptions& options) {
  // Quantized graphs first become what ONNX Runtime runs (QDQ -> QOperator).
  fuse_qdq(graph);
  // What stays in float reads constant weights from here on.
  fold_constant_dequantize(graph);
  if (options.fold_batchnorm) fold_batchnorm(graph);
  if (options.fuse_activations) {
    fuse_activation(graph);
    fuse_residual_add(graph);
  }
  ir::verify(graph);
}

}  // namespace tinyq::passes
