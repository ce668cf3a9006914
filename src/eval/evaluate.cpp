#include "eval/evaluate.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.h"

namespace tinyq::eval {

Tensor predict(const runtime::Executor& executor, const LabeledImages& images, const PredictOptions& options) {
  const std::size_t n = images.size(), batch = std::max<std::size_t>(options.batch, 1);
  const std::size_t batches = (n + batch - 1) / batch;
  Tensor result;
  std::mutex mutex;  // guards result allocation, progress and the first error
  std::exception_ptr error;
  std::size_t done = 0;
  std::atomic<std::size_t> next{0};

  // Threads take whole batches; the executor is const and thread-safe, and
  // each batch writes its own rows, so results do not depend on the thread count.
  auto worker = [&] {
    for (std::size_t b; (b = next.fetch_add(1)) < batches;) {
      try {
        const std::size_t begin = b * batch, count = std::min(batch, n - begin);
        std::vector<Tensor> out = executor.run({image_batch_f32(images, begin, count)});
        const Tensor& y = out.at(0);
        if (y.shape().size() != 2 || y.shape()[0] != static_cast<std::int64_t>(count))
          throw Error("model output " + shape_to_string(y.shape()) + " is not [batch, classes]");
        std::lock_guard lock(mutex);
        if (result.element_count() == 0) result = Tensor(DType::f32, {static_cast<std::int64_t>(n), y.shape()[1]});
        auto src = y.data<float>();
        std::copy(src.begin(), src.end(), result.data<float>().begin() + static_cast<std::ptrdiff_t>(begin * y.shape()[1]));
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

}  // namespace tinyq::eval
