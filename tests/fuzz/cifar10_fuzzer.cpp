// CIFAR-10 binary batches and the class-name file beside them.
#include "eval/cifar10.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = tinyq::fuzz::write_scratch(data, size, ".bin");
  return tinyq::fuzz::expect_clean_rejection([&] {
    const auto set = tinyq::eval::read_cifar10({path});
    if (set.images.shape()[0] != static_cast<std::int64_t>(set.size())) std::abort();
    for (auto label : set.labels)
      if (label >= tinyq::eval::kCifarClasses) std::abort();
    (void)tinyq::eval::image_batch_f32(set, 0, set.size());
  });
}
