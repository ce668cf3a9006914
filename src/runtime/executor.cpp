#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/error.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"

namespace tinyq::runtime {

// Everything about a run that depends only on the batch size.
struct Executor::Plan {
  std::int64_t batch = 0;
  std::vector<ir::TensorType> types;  // per value (inputs and node outputs; initializers unused)
};

// The tensors of one run in flight, allocated once per plan and recycled.
struct Executor::Frame {
  const Plan* plan = nullptr;
  std::vector<Tensor> inputs;                             // per graph input
  std::vector<std::vector<Tensor>> outputs;               // per node, per output
  std::vector<std::vector<const Tensor*>> node_inputs;    // per node; nullptr for an omitted input
  std::vector<const Tensor*> value;                       // per value
};

Executor::Executor(ir::Graph graph, OpOptions options) : graph_(std::move(graph)) {
  ir::verify(graph_);
  for (const ir::Node& node : graph_.nodes()) ops_.push_back(find_op(node)(graph_, node, options));
  node_nanoseconds_ = std::make_unique<std::atomic<std::int64_t>[]>(graph_.nodes().size());
  for (std::size_t n = 0; n < graph_.nodes().size(); ++n) node_nanoseconds_[n] = 0;
  // Batch-major: batch 1 and batch 2 give every value the same shape but for
  // a leading 1 or 2. Then a batch can run image by image.
  try {
    const Plan& one = plan_for(1);
    const Plan& two = plan_for(2);
    batch_major_ = !graph_.inputs().empty();
    for (std::size_t v = 0; v < graph_.values().size() && batch_major_; ++v) {
      if (graph_.values()[v].initializer) continue;
      const Shape &a = one.types[v].shape, &b = two.types[v].shape;
      batch_major_ = !a.empty() && a.size() == b.size() && a[0] == 1 && b[0] == 2 && std::equal(a.begin() + 1, a.end(), b.begin() + 1);
    }
  } catch (const Error&) {
    batch_major_ = false;  // e.g. a fixed batch in the model; such runs are planned per batch size
  }
}

Executor::~Executor() = default;

std::vector<std::string> Executor::kernel_names() const {
  std::vector<std::string> names;
  for (const PreparedOp& op : ops_) names.emplace_back(op.kernel);
  return names;
}

const Executor::Plan& Executor::plan_for(std::int64_t batch) const {
  std::lock_guard lock(mutex_);
  auto& slot = plans_[batch];
  if (slot) return *slot;
  auto plan = std::make_unique<Plan>();
  plan->batch = batch;
  plan->types.resize(graph_.values().size());
  for (ir::ValueId id : graph_.inputs()) {
    const ir::Value& v = graph_.value(id);
    Shape shape = v.shape;
    for (auto& d : shape)
      if (d == kBatch) d = batch;
    plan->types[id.index] = {v.dtype, shape};
  }
  std::vector<ir::TensorType> in_types;
  for (const ir::Node& node : graph_.nodes()) {
    in_types.clear();
    for (ir::ValueId id : node.inputs) {
      if (!id.valid()) continue;
      if (graph_.is_initializer(id)) in_types.push_back({graph_.initializer(id).dtype(), graph_.initializer(id).shape()});
      else in_types.push_back(plan->types[id.index]);
    }
    const auto out_types = ir::infer_node_types(graph_, node, in_types);
    for (std::size_t o = 0; o < out_types.size(); ++o) plan->types[node.outputs[o].index] = out_types[o];
  }
  slot = std::move(plan);
  return *slot;
}

std::unique_ptr<Executor::Frame> Executor::take_frame(const Plan& plan) const {
  {
    std::lock_guard lock(mutex_);
    for (auto it = free_frames_.begin(); it != free_frames_.end(); ++it)
      if ((*it)->plan == &plan) {
        auto frame = std::move(*it);
        free_frames_.erase(it);
        return frame;
      }
  }
  auto frame = std::make_unique<Frame>();
  frame->plan = &plan;
  frame->value.assign(graph_.values().size(), nullptr);
  for (std::uint32_t v = 0; v < graph_.values().size(); ++v)
    if (graph_.values()[v].initializer) frame->value[v] = &*graph_.values()[v].initializer;
  frame->inputs.reserve(graph_.inputs().size());
  for (ir::ValueId id : graph_.inputs()) {
    frame->inputs.emplace_back(plan.types[id.index].dtype, plan.types[id.index].shape);
    frame->value[id.index] = &frame->inputs.back();
  }
  const auto& nodes = graph_.nodes();
  frame->outputs.resize(nodes.size());
  frame->node_inputs.resize(nodes.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    for (ir::ValueId id : nodes[n].outputs) frame->outputs[n].emplace_back(plan.types[id.index].dtype, plan.types[id.index].shape);
    for (std::size_t o = 0; o < nodes[n].outputs.size(); ++o) frame->value[nodes[n].outputs[o].index] = &frame->outputs[n][o];
  }
  // Nodes are in topological order, so every input is bound by now.
  for (std::size_t n = 0; n < nodes.size(); ++n)
    for (ir::ValueId id : nodes[n].inputs) frame->node_inputs[n].push_back(id.valid() ? frame->value[id.index] : nullptr);
  return frame;
}

void Executor::return_frame(std::unique_ptr<Frame> frame) const {
  std::lock_guard lock(mutex_);
  free_frames_.push_back(std::move(frame));
}

void Executor::execute_frame(Frame& frame) const {
  for (std::size_t n = 0; n < ops_.size(); ++n) {
    if (!profiling_) {
      ops_[n].run(frame.node_inputs[n], frame.outputs[n]);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    ops_[n].run(frame.node_inputs[n], frame.outputs[n]);
    node_nanoseconds_[n] += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  }
}

void Executor::execute(const std::vector<Tensor>& inputs, const StepVisitor& after_step) const {
  const auto& graph_inputs = graph_.inputs();
  if (inputs.size() != graph_inputs.size())
    throw Error("graph '" + graph_.name + "' takes " + std::to_string(graph_inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  std::int64_t batch = -1;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const ir::Value& v = graph_.value(graph_inputs[i]);
    const Shape& got = inputs[i].shape();
    bool ok = inputs[i].dtype() == v.dtype && got.size() == v.shape.size();
    for (std::size_t d = 0; ok && d < got.size(); ++d) {
      if (v.shape[d] != kBatch) ok = v.shape[d] == got[d];
      else if (batch < 0) batch = got[d];
      else ok = batch == got[d];
    }
    if (!ok)
      throw Error("input '" + v.name + "' must be " + std::string(dtype_name(v.dtype)) + shape_to_string(v.shape) +
                  ", got " + std::string(dtype_name(inputs[i].dtype())) + shape_to_string(got));
  }
  if (batch < 0) batch = 1;  // no symbolic dimension: one plan for the model's own shapes
  const bool image_by_image = batch_major_ && batch > 1;
  const Plan& plan = plan_for(image_by_image ? 1 : batch);
  std::unique_ptr<Frame> frame = take_frame(plan);
  try {
    const std::int64_t steps = image_by_image ? batch : 1;
    for (std::int64_t i = 0; i < steps; ++i) {
      for (std::size_t k = 0; k < inputs.size(); ++k) {
        const std::size_t row = frame->inputs[k].byte_size();
        std::memcpy(frame->inputs[k].bytes().data(), inputs[k].bytes().data() + i * row, row);
      }
      execute_frame(*frame);
      after_step(i, steps, frame->value);
    }
  } catch (...) {
    return_frame(std::move(frame));
    throw;
  }
  return_frame(std::move(frame));
}

void Executor::execute(const std::vector<Tensor>& inputs, const std::vector<bool>& keep, std::vector<Tensor>& results) const {
  std::vector<std::uint32_t> wanted;
  for (std::uint32_t v = 0; v < graph_.values().size(); ++v)
    if (!graph_.values()[v].initializer && (keep[v] || graph_.is_graph_output(ir::ValueId{v}))) wanted.push_back(v);
  execute(inputs, [&](std::int64_t step, std::int64_t steps, const std::vector<const Tensor*>& values) {
    for (std::uint32_t v : wanted) {
      const Tensor& t = *values[v];
      if (step == 0) {  // the results hold all steps: batch = steps x the step's batch
        Shape shape = t.shape();
        if (steps > 1) shape[0] *= steps;
        results[v] = Tensor(t.dtype(), shape);
      }
      std::memcpy(results[v].bytes().data() + step * t.byte_size(), t.bytes().data(), t.byte_size());
    }
  });
}

std::vector<std::uint32_t> Executor::tap_indices(const std::vector<std::string>& tap_names) const {
  std::vector<std::uint32_t> indices;
  for (const std::string& name : tap_names) {
    auto id = graph_.find_value(name);
    if (!id) throw Error("graph '" + graph_.name + "' has no tensor named '" + name + "'");
    indices.push_back(id->index);
  }
  return indices;
}

void Executor::run_visiting(const std::vector<Tensor>& inputs, const std::vector<std::string>& tap_names, const TapVisitor& visit) const {
  const std::vector<std::uint32_t> taps = tap_indices(tap_names);
  execute(inputs, [&](std::int64_t, std::int64_t, const std::vector<const Tensor*>& values) {
    for (std::size_t t = 0; t < taps.size(); ++t) visit(t, *values[taps[t]]);
  });
}

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs) const {
  std::vector<Tensor> values(graph_.values().size());
  execute(inputs, std::vector<bool>(graph_.values().size(), false), values);
  std::vector<Tensor> results;
  for (ir::ValueId id : graph_.outputs())
    results.push_back(graph_.is_initializer(id) ? graph_.initializer(id) : std::move(values[id.index]));
  return results;
}

std::map<std::string, Tensor> Executor::run_with_taps(const std::vector<Tensor>& inputs,
                                                      const std::vector<std::string>& tap_names) const {
  std::vector<bool> keep(graph_.values().size(), tap_names.empty());
  for (std::uint32_t v : tap_indices(tap_names)) keep[v] = true;
  std::vector<Tensor> values(graph_.values().size());
  execute(inputs, keep, values);
  std::map<std::string, Tensor> taps;
  for (std::uint32_t v = 0; v < graph_.values().size(); ++v) {
    if (!keep[v]) continue;
    const ir::Value& value = graph_.values()[v];
    if (value.initializer) taps[value.name] = *value.initializer;
    else {
      // Graph inputs are not produced by a node: hand back the caller's tensor.
      auto input = std::find(graph_.inputs().begin(), graph_.inputs().end(), ir::ValueId{v});
      taps[value.name] = input != graph_.inputs().end() ? inputs[static_cast<std::size_t>(input - graph_.inputs().begin())]
                                                        : std::move(values[v]);
    }
  }
  return taps;
}

std::vector<NodeProfile> Executor::profile() const {
  std::vector<NodeProfile> rows;
  for (std::size_t n = 0; n < ops_.size(); ++n)
    rows.push_back({graph_.nodes()[n].name, graph_.nodes()[n].op_type, ops_[n].kernel,
                    static_cast<double>(node_nanoseconds_[n].load()) * 1e-9});
  return rows;
}

}  // namespace tinyq::runtime
