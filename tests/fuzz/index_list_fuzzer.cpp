// Calibration and evaluation index files (MLPerf's perf_samples_idxs.npy,
// calibration_samples_idxs.npy), used to select images from a data set.
#include "eval/cifar10.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tinyq::eval::LabeledImages images = [] {
    tinyq::eval::LabeledImages set{tinyq::Tensor(tinyq::DType::u8, {16, 3, 32, 32}), {}};
    for (int i = 0; i < 16; ++i) set.labels.push_back(static_cast<std::uint8_t>(i % 10));
    return set;
  }();
  const auto& path = tinyq::fuzz::write_scratch(data, size, ".npy");
  return tinyq::fuzz::expect_clean_rejection([&] {
    const auto indices = tinyq::eval::read_index_list(path);
    const auto chosen = tinyq::eval::select_images(images, indices);
    if (chosen.size() != indices.size()) std::abort();
  });
}
