#pragma once
// Explicit table from ONNX op type to its float implementation. Each entry
// prepares a node once (reads attributes, resolves constants, builds kernel
// params that do not depend on the batch) and returns the function the
// executor calls for every run. Kernels themselves never see the IR.
#include <functional>
#include <span>

#include "core/tensor.h"
#include "ir/graph.h"
#include "kernels/cpu_features.h"
#include "kernels/requant.h"

namespace tinyq::runtime {

// Outputs arrive allocated with the shapes shape inference computed.
using RunFn = std::function<void(std::span<const Tensor* const> inputs, std::span<Tensor> outputs)>;
// Settings that change how ops compute (not what they mean).
struct OpOptions {
  kernels::RequantMode requant = kernels::RequantMode::float_multiplier;
  kernels::KernelPolicy kernels = kernels::KernelPolicy::auto_select;
};
// A prepared node: the function to run and the name of the kernel chosen for
// it ("reference", "x86-avx2", ...), shown by `tinyq eval --profile`.
struct PreparedOp {
  template <typename F>
  PreparedOp(F run_fn, const char* kernel_name = "reference") : run(std::move(run_fn)), kernel(kernel_name) {}
  RunFn run;
  const char* kernel;
};
using PrepareFn = PreparedOp (*)(const ir::Graph& graph, const ir::Node& node, const OpOptions& options);

// Throws Error naming the node when no implementation exists.
PrepareFn find_op(const ir::Node& node);

}  // namespace tinyq::runtime
