#pragma once
// Runs a model over a labelled image set in batches, on several threads.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eval/cifar10.h"
#include "runtime/executor.h"

namespace tinyq::eval {

struct PredictOptions {
  std::size_t batch = 250;
  unsigned threads = 1;
  // Called after each finished batch with (images done, total), from one thread at a time.
  std::function<void(std::size_t, std::size_t)> progress;
  // When set, receives the wall time of every batch (latency percentiles).
  std::vector<double>* batch_seconds = nullptr;
};

// The model's first output for every image, in data-set order: f32 [N, K].
Tensor predict(const runtime::Executor& executor, const LabeledImages& images, const PredictOptions& options);

// The named tensors for every image, each concatenated along the batch axis.
std::map<std::string, Tensor> predict_tensors(const runtime::Executor& executor, const LabeledImages& images,
                                              const PredictOptions& options, const std::vector<std::string>& names);

}  // namespace tinyq::eval
