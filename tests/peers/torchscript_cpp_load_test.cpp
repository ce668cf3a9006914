// The TorchScript export loads with torch::jit::load in C++ and computes what
// tinyq computes, on the first 100 CIFAR-10 test images.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <unistd.h>

#include <filesystem>

#include "core/assets.h"
#include "eval/cifar10.h"
#include "exporters/torch_archive.h"
#include "importers/load_model.h"
#include "passes/optimize.h"
#include "runtime/executor.h"

namespace tinyq {
namespace {

TEST(TorchScriptExport, LoadsInCppLibtorchAndAgrees) {
  const auto model = require_asset("models/pretrainedResnet.h5");
  const auto path = std::filesystem::temp_directory_path() / ("tinyq_ts_" + std::to_string(::getpid()) + ".pt");
  exporters::write_torchscript(importers::load_model(model), path);

  const auto images = eval::read_cifar10({require_asset("data/cifar-10-batches-bin/test_batch.bin")});
  const Tensor batch = eval::image_batch_f32(images, 0, 100);
  ir::Graph graph = importers::load_model(model);
  passes::optimize_for_inference(graph);
  const Tensor ours = runtime::Executor(std::move(graph)).run({batch}).at(0);

  torch::jit::Module module = torch::jit::load(path.string());
  std::filesystem::remove(path);
  module.eval();
  torch::NoGradGuard no_grad;
  auto input = torch::from_blob(const_cast<float*>(batch.data<float>().data()), {100, 3, 32, 32}).clone();
  const at::Tensor theirs = module.forward({input}).toTensor().contiguous();
  ASSERT_EQ(theirs.numel(), static_cast<std::int64_t>(ours.element_count()));
  const float* t = theirs.data_ptr<float>();
  double max_diff = 0;
  for (std::size_t i = 0; i < ours.element_count(); ++i) max_diff = std::max(max_diff, double(std::abs(t[i] - ours.data<float>()[i])));
  EXPECT_LE(max_diff, 1e-5);
  std::printf("libtorch (C++) on the TorchScript export: max |tinyq - torch| = %.3g\n", max_diff);
}

}  // namespace
}  // namespace tinyq
