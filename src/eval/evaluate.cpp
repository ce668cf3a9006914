#include "eval/evaluate.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.h"

namespace tinyq::eval {

std::map<std::string, Tensor> predict_tensors(const runtime::Executor& executor, const LabeledImages& images,
                                              const PredictOptions& options, const std::vector<std::string>& names) {
  const std::size_t n = images.size(), batch = std::max<std::size_t>(options.batch, 1);
  const std::size_t batches = (n + batch - 1) / batch;
  std::map<std::string, Tensor> result;
  std::mutex mutex;  // guards result allocation, progress and the first error
  std::exception_ptr error;
  std::size_t done = 0;
  std::atomic<std::size_t> next{0};
  const std::string first_output = executor.graph().value(executor.graph().outputs().at(0)).name;

  // Threads take whole batches; the executor is const and thread-safe, and
  // each batch writes its own rows, so results do not depend on the thread count.
  auto worker = [&] {
    for (std::size_t b; (b = next.fetch_add(1)) < batches;) {
      try {
        const std::size_t begin = b * batch, count = std::min(batch, n - begin);
        std::map<std::string, Tensor> out;
        if (names.empty()) out[first_output] = executor.run({image_batch_f32(images, begin, count)}).at(0);
        else out = executor.run_with_taps({image_batch_f32(images, begin, count)}, names);
        std::lock_guard lock(mutex);
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
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        next = batches;
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < std::max(options.threads, 1u); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return result;
}

Tensor predict(const runtime::Executor& executor, const LabeledImages& images, const PredictOptions& options) {
  auto all = predict_tensors(executor, images, options, {});
  Tensor y = std::move(all.begin()->second);
  if (y.shape().size() != 2) throw Error("model output " + shape_to_string(y.shape()) + " is not [batch, classes]");
  return y;
}

}  // namespace tinyq::eval
