#pragma once
// Runs an ir::Graph on concrete inputs, from a plan made before the first run.
//
// Preparation happens once in the constructor: verification, kernel choice
// (the OpOptions policy and the CPU), attribute parsing, weight packing. Per
// batch size a Plan fixes every tensor's type (shape inference runs once, not
// per run), and Frames (one tensor per value, allocated once) are recycled
// through a pool, so a run allocates only its results. run() is const and
// safe to call from several threads: each call takes its own frame.
//
// When every tensor of the graph is batch-major (the usual case), a batch is
// run one image at a time through the whole network, so an image's
// activations stay in the core's caches from layer to layer.
//
// Any intermediate tensor can be handed out by name ("taps"): the layer-wise
// error reports, golden vectors, calibration and the playground rest on that.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/op_registry.h"

namespace tinyq::runtime {

// Time spent per node over the runs made while profiling was on.
struct NodeProfile {
  std::string node, op_type, kernel;
  double seconds = 0;
};

class Executor {
 public:
  explicit Executor(ir::Graph graph, OpOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const ir::Graph& graph() const { return graph_; }
  // The kernel chosen for each node, in node order.
  std::vector<std::string> kernel_names() const;

  // One tensor per graph input, in order; the batch dimension may be any size.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;

  // Runs and also returns the named tensors (graph inputs, node outputs or
  // initializers). An empty list taps every tensor.
  std::map<std::string, Tensor> run_with_taps(const std::vector<Tensor>& inputs,
                                              const std::vector<std::string>& tap_names) const;

  // Runs and shows each named tensor to `visit(tap, value)` in place, without
  // copying it: once per image, in image order, when the batch runs image by
  // image (the value then has batch 1), else once with the whole batch. The
  // value is valid only during the call. Calibration observes this way.
  using TapVisitor = std::function<void(std::size_t tap, const Tensor& value)>;
  void run_visiting(const std::vector<Tensor>& inputs, const std::vector<std::string>& tap_names, const TapVisitor& visit) const;

  // Per-node timing (off by default: it costs two clock reads per node).
  void set_profiling(bool on) { profiling_ = on; }
  std::vector<NodeProfile> profile() const;

 private:
  struct Plan;
  struct Frame;
  const Plan& plan_for(std::int64_t batch) const;
  std::unique_ptr<Frame> take_frame(const Plan& plan) const;
  void return_frame(std::unique_ptr<Frame> frame) const;
  void execute_frame(Frame& frame) const;
  // Runs `inputs` (batch N) in `steps` steps (N image by image, or 1) and
  // calls after_step(step, steps, values) after each with every value's tensor.
  using StepVisitor = std::function<void(std::int64_t step, std::int64_t steps, const std::vector<const Tensor*>& values)>;
  void execute(const std::vector<Tensor>& inputs, const StepVisitor& after_step) const;
  // Runs `inputs` (batch N) and copies the graph outputs and the kept values
  // into `results` (indexed by value; allocated here with batch N).
  void execute(const std::vector<Tensor>& inputs, const std::vector<bool>& keep, std::vector<Tensor>& results) const;
  std::vector<std::uint32_t> tap_indices(const std::vector<std::string>& tap_names) const;

  ir::Graph graph_;
  std::vector<PreparedOp> ops_;  // one per node, in node order
  bool batch_major_ = false;     // every value's leading dimension is the batch
  bool profiling_ = false;
  std::unique_ptr<std::atomic<std::int64_t>[]> node_nanoseconds_;
  mutable std::mutex mutex_;     // guards plans_ and the frame pool
  mutable std::map<std::int64_t, std::unique_ptr<Plan>> plans_;
  mutable std::vector<std::unique_ptr<Frame>> free_frames_;
};

}  // namespace tinyq::runtime
