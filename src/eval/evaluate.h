#pragma once
// Runs a model over a labelled image set in batches, on several threads.
#include <functional>

#include "eval/cifar10.h"
#include "runtime/executor.h"

namespace tinyq::eval {

struct PredictOptions {
  std::size_t batch = 250;
  unsigned threads = 1;
  // Called after each finished batch with (images done, total), from one thread at a time.
  std::function<void(std::size_t, std::size_t)> progress;
};

// The model's first output for every image, in data-set order: f32 [N, K].
Tensor predict(const runtime::Executor& executor, const LabeledImages& images, const PredictOptions& options);

}  // namespace tinyq::eval
