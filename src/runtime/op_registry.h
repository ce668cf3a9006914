#pragma once
// Explicit table from ONNX op type to its float implementation. Each entry
// prepares a node once (reads attributes, resolves constants, builds kernel
// params that do not depend on the batch) and returns the function the
// executor calls for every run. Kernels themselves never see the IR.
#include <functional>
#include <span>

#include "core/tensor.h"
#include "ir/graph.h"
#include "quant/requant.h"

namespace tinyq::runtime {

// Outputs arrive allocated with the shapes shape inference computed.
using RunFn = std::function<void(std::span<const Tensor* const> inputs, std::span<Tensor> outputs)>;
// Settings that change how ops compute (not what they mean).
struct OpOptions {
  quant::RequantMode requant = quant::RequantMode::float_multiplier;
};
using PrepareFn = RunFn (*)(const ir::Graph& graph, const ir::Node& node, const OpOptions& options);

// Throws Error naming the node when no implementation exists.
PrepareFn find_op(const ir::Node& node);

}  // namespace tinyq::runtime
