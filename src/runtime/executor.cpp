#include "runtime/executor.h"

#include <optional>

#include "core/error.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"

namespace tinyq::runtime {

Executor::Executor(ir::Graph graph, OpOptions options) : graph_(std::move(graph)) {
  ir::verify(graph_);
  for (const ir::Node& node : graph_.nodes()) kernels_.push_back(find_op(node)(graph_, node, options));
  last_use_.assign(graph_.values().size(), -1);
  for (std::size_t n = 0; n < graph_.nodes().size(); ++n)
    for (ir::ValueId id : graph_.nodes()[n].inputs)
      if (id.valid()) last_use_[id.index] = static_cast<int>(n);
}

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs) const {
  return execute(inputs, {}, nullptr);
}

std::map<std::string, Tensor> Executor::run_with_taps(const std::vector<Tensor>& inputs,
                                                      const std::vector<std::string>& tap_names) const {
  std::vector<bool> keep(graph_.values().size(), tap_names.empty());
  for (const std::string& name : tap_names) {
    auto id = graph_.find_value(name);
    if (!id) throw Error("graph '" + graph_.name + "' has no tensor named '" + name + "'");
    keep[id->index] = true;
  }
  std::map<std::string, Tensor> taps;
  execute(inputs, keep, &taps);
  return taps;
}

std::vector<Tensor> Executor::execute(const std::vector<Tensor>& inputs, const std::vector<bool>& keep,
                                      std::map<std::string, Tensor>* taps) const {
  const auto& graph_inputs = graph_.inputs();
  if (inputs.size() != graph_inputs.size())
    throw Error("graph '" + graph_.name + "' takes " + std::to_string(graph_inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  std::vector<std::optional<Tensor>> live(graph_.values().size());
  auto tap = [&](ir::ValueId id, const Tensor& t) {
    if (taps && keep[id.index]) (*taps)[graph_.value(id).name] = t;
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const ir::Value& v = graph_.value(graph_inputs[i]);
    const Shape& got = inputs[i].shape();
    bool ok = inputs[i].dtype() == v.dtype && got.size() == v.shape.size();
    for (std::size_t d = 0; ok && d < got.size(); ++d) ok = v.shape[d] == kBatch || v.shape[d] == got[d];
    if (!ok)
      throw Error("input '" + v.name + "' must be " + std::string(dtype_name(v.dtype)) + shape_to_string(v.shape) +
                  ", got " + std::string(dtype_name(inputs[i].dtype())) + shape_to_string(got));
    live[graph_inputs[i].index] = inputs[i];
    tap(graph_inputs[i], inputs[i]);
  }
  if (taps)
    for (std::uint32_t v = 0; v < graph_.values().size(); ++v)
      if (graph_.values()[v].initializer) tap(ir::ValueId{v}, *graph_.values()[v].initializer);

  std::vector<const Tensor*> in_ptrs;
  std::vector<ir::TensorType> in_types;
  for (std::size_t n = 0; n < graph_.nodes().size(); ++n) {
    const ir::Node& node = graph_.nodes()[n];
    in_ptrs.clear();
    in_types.clear();
    for (ir::ValueId id : node.inputs) {
      if (!id.valid()) {
        in_ptrs.push_back(nullptr);
        continue;
      }
      const Tensor* t = graph_.is_initializer(id) ? &graph_.initializer(id) : &*live[id.index];
      in_ptrs.push_back(t);
      in_types.push_back({t->dtype(), t->shape()});
    }
    const auto out_types = ir::infer_node_types(graph_, node, in_types);
    std::vector<Tensor> outs;
    for (const auto& type : out_types) outs.emplace_back(type.dtype, type.shape);
    kernels_[n](in_ptrs, outs);
    for (std::size_t o = 0; o < outs.size(); ++o) {
      tap(node.outputs[o], outs[o]);
      live[node.outputs[o].index] = std::move(outs[o]);
    }
    // Free what no later node reads (graph outputs are kept).
    for (ir::ValueId id : node.inputs)
      if (id.valid() && last_use_[id.index] == static_cast<int>(n) && !graph_.is_graph_output(id) &&
          !graph_.is_initializer(id))
        live[id.index].reset();
  }
  std::vector<Tensor> results;
  for (ir::ValueId id : graph_.outputs()) {
    if (graph_.is_initializer(id)) results.push_back(graph_.initializer(id));
    else results.push_back(std::move(*live[id.index]));
  }
  return results;
}

}  // namespace tinyq::runtime
