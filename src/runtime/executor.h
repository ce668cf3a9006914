#pragma once
// Runs an ir::Graph on concrete inputs. Preparation (verification, kernel
// lookup, attribute parsing) happens once in the constructor; run() is const
// and may be called from several threads at once.
//
// Any intermediate tensor can be handed out by name ("taps"): the layer-wise
// error reports, golden vectors and the playground all rest on that.
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/op_registry.h"

namespace tinyq::runtime {

class Executor {
 public:
  explicit Executor(ir::Graph graph, OpOptions options = {});

  const ir::Graph& graph() const { return graph_; }

  // One tensor per graph input, in order; the batch dimension may be any size.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;

  // Runs and also returns the named tensors (graph inputs, node outputs or
  // initializers). An empty list taps every tensor.
  std::map<std::string, Tensor> run_with_taps(const std::vector<Tensor>& inputs,
                                              const std::vector<std::string>& tap_names) const;

 private:
  std::vector<Tensor> execute(const std::vector<Tensor>& inputs, const std::vector<bool>& keep,
                              std::map<std::string, Tensor>* taps) const;

  ir::Graph graph_;
  std::vector<RunFn> kernels_;  // one per node, in node order
  std::vector<int> last_use_;   // per value: index of the last node reading it (-1: none)
};

}  // namespace tinyq::runtime
