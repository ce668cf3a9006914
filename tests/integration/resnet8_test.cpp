// The MLPerf Tiny ResNet8 against the figures published for the Keras model
// (mlcommons/tiny; checked in ../shared/models/README.md): 87.19% on the
// CIFAR-10 test set, 87.0% on the 200-image perf subset, 78,666 parameters,
// 12,501,632 MACs.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "core/assets.h"
#include "eval/cifar10.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "eval/model_summary.h"
#include "importers/load_model.h"
#include "passes/optimize.h"

namespace tinyq {
namespace {

TEST(ResNet8, ParameterAndMacTotalsMatchKeras) {
  const auto summary = eval::summarize(importers::load_model(require_asset("models/pretrainedResnet.h5")));
  EXPECT_EQ(summary.total_params, 78'666);
  EXPECT_EQ(summary.weight_params, 77'706);
  EXPECT_EQ(summary.batchnorm_params, 960);
  EXPECT_EQ(summary.total_macs, 12'501'632);
}

TEST(ResNet8, AccuracyMatchesKerasOnFullTestSetAndPerfSubset) {
  ir::Graph graph = importers::load_model(require_asset("models/pretrainedResnet.h5"));
  passes::optimize_for_inference(graph);
  const runtime::Executor executor(std::move(graph));
  const auto test_set = eval::read_cifar10({require_asset("data/cifar-10-batches-bin/test_batch.bin")});
  eval::PredictOptions options;
  options.threads = std::max(1u, std::thread::hardware_concurrency());
  const Tensor outputs = eval::predict(executor, test_set, options);
  const auto full = eval::score_classification(outputs, test_set.labels);
  EXPECT_EQ(full.total, 10'000);
  EXPECT_EQ(full.correct, 8'719);

  // The perf subset is a selection of the same test images.
  const auto indices = eval::read_index_list(require_asset("models/perf_samples_idxs.npy"));
  ASSERT_EQ(indices.size(), 200u);
  const auto subset = eval::select_images(test_set, indices);
  const auto perf = eval::score_classification(eval::predict(executor, subset, options), subset.labels);
  EXPECT_EQ(perf.correct, 174);  // 87.0%
  // The MLPerf label file lists the same labels in the same order.
  std::ifstream labels(require_asset("models/ic01_y_labels.csv"));
  std::size_t row = 0;
  for (std::string line; std::getline(labels, line) && row < subset.size(); ++row)
    EXPECT_EQ(std::stoi(line.substr(line.rfind(',') + 1)), subset.labels[row]) << "row " << row;
  EXPECT_EQ(row, 200u);
}

}  // namespace
}  // namespace tinyq
