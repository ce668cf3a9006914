#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "core/error.h"
#include "core/parallel_for.h"

namespace tinyq::eval {

std::map<std::string, Tensor> predict_tensors(const runtime::Executor& executor, const LabeledImages& images,
                                              const PredictOptions& options, const std::vector<std::string>& names) {
  const std::size_t n = images.size(), batch = std::max<std::size_t>(options.batch, 1);
  const std::size_t batches = (n + batch - 1) / batch;
  std::map<std::string, Tensor> result;
  std::mutex mutex;  // guards the result and progress
  std::size_t done = 0;
  const std::string first_output = executor.graph().value(executor.graph().outputs().at(0)).name;
  // Threads take whole batches; the executor is const and thread-safe, and
  // each batch writes its own rows, so results do not depend on the thread count.
  parallel_for(batches, options.threads, [&](std::size_t b) {
    const std::size_t begin = b * batch, count = std::min(batch, n - begin);
    const auto start = std::chrono::steady_clock::now();
    thread_local std::vector<Tensor> input(1);  // one buffer per thread, refilled batch after batch
    write_image_batch_f32(images, begin, count, input[0]);
    std::map<std::string, Tensor> out;
    if (names.empty()) out[first_output] = executor.run(input).at(0);
    else out = executor.run_with_taps(input, names);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard lock(mutex);
    if (options.batch_seconds) options.batch_seconds->push_back(seconds);
    for (auto& [name, y] : out) {
      if (y.shape().empty() || y.shape()[0] != static_cast<std::int64_t>(count))
        throw Error("tensor '" + name + "' " + shape_to_string(y.shape()) + " is not batch-major");
      Tensor& all = result[name];
      if (all.element_count() == 0) {
        Shape shape = y.shape();
        shape[0] = static_cast<std::int64_t>(n);
        all = Tensor(y.dtype(), shape);
      }
      const std::size_t row = y.byte_size() / count;
      std::copy(y.bytes().begin(), y.bytes().end(), all.bytes().begin() + static_cast<std::ptrdiff_t>(begin * row));
    }
    done += count;
    if (options.progress) options.progress(done, n);
  });
  return result;
}

Tensor predict(const runtime::Executor& executor, const LabeledImages& images, const PredictOptions& options) {
  auto all = predict_tensors(executor, images, options, {});
  Tensor y = std::move(all.begin()->second);
  if (y.shape().size() != 2) throw Error("model output " + shape_to_string(y.shape()) + " is not [batch, classes]");
  return y;
}

}  // namespace tinyq::eval
