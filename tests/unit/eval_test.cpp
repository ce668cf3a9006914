// CIFAR-10 reader, metrics and .npy files against hand-made inputs.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/npy.h"
#include "eval/cifar10.h"
#include "eval/metrics.h"

namespace tinyq::eval {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("tinyq_eval_test_" + std::to_string(::getpid()) + "_" + name);
}

void write_records(const fs::path& path, const std::vector<std::uint8_t>& labels, std::size_t extra_bytes = 0) {
  std::ofstream out(path, std::ios::binary);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    out.put(static_cast<char>(labels[r]));
    for (int i = 0; i < kCifarPixels; ++i) out.put(static_cast<char>((r * 7 + i) % 256));
  }
  for (std::size_t i = 0; i < extra_bytes; ++i) out.put(0);
}

TEST(Cifar10, ReadsRecordsInChwOrder) {
  const auto path = temp_path("ok.bin");
  write_records(path, {3, 9});
  const auto set = read_cifar10({path});
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.labels, (std::vector<std::uint8_t>{3, 9}));
  EXPECT_EQ(set.images.shape(), (Shape{2, 3, 32, 32}));
  // Record 1, byte 1024 is the first green pixel: (1*7 + 1024) % 256 = 7.
  EXPECT_EQ(set.images.data<std::uint8_t>()[kCifarPixels + 1024], 7);
  const auto batch = image_batch_f32(set, 1, 1);
  EXPECT_FLOAT_EQ(batch.data<float>()[1024], 7.f);
  const auto picked = select_images(set, {1, 1, 0});
  EXPECT_EQ(picked.labels, (std::vector<std::uint8_t>{9, 9, 3}));
  EXPECT_THROW(select_images(set, {2}), Error);
  fs::remove(path);
}

TEST(Cifar10, RejectsBadSizeAndLabels) {
  const auto bad_size = temp_path("short.bin");
  write_records(bad_size, {1}, 5);
  try {
    read_cifar10({bad_size});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("short.bin"));
    EXPECT_THAT(e.what(), HasSubstr("multiple of the CIFAR-10 record size"));
  }
  const auto bad_label = temp_path("label.bin");
  write_records(bad_label, {1, 10});
  try {
    read_cifar10({bad_label});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("record 1 has label byte 10"));
  }
  EXPECT_THROW(read_cifar10({temp_path("missing.bin")}), Error);
  fs::remove(bad_size);
  fs::remove(bad_label);
}

TEST(Metrics, AccuracyConfusionAndPerClass) {
  // 4 images, 2 classes; predictions 0, 1, 1, 1 for labels 0, 0, 1, 1.
  const auto scores = Tensor::from<float>({4, 2}, std::vector<float>{0.9f, 0.1f, 0.3f, 0.7f, 0.2f, 0.8f, 0.4f, 0.6f});
  const auto s = score_classification(scores, {0, 0, 1, 1});
  EXPECT_EQ(s.correct, 3);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.75);
  EXPECT_EQ(s.confusion, (std::vector<std::vector<std::int64_t>>{{1, 1}, {0, 2}}));
  EXPECT_DOUBLE_EQ(s.per_class[0], 0.5);
  EXPECT_DOUBLE_EQ(s.per_class[1], 1.0);
}

TEST(Metrics, EembcAucHandDerived) {
  // Class 0 scores: positives 0.91, 0.41; negatives 0.61, 0.21 (labels 0,1,0,1 swapped below).
  // ROC points over thresholds: (1,1) -> fpr .5 at tpr 1 (t in [.21,.41)) -> (fpr .5, tpr .5)
  // -> (0, .5) -> (0, 0). Trapezoids: .5 * 1 + 0 + .5 * .5 = 0.75.
  const auto scores = Tensor::from<float>({4, 2}, std::vector<float>{0.91f, 0.09f, 0.61f, 0.39f, 0.41f, 0.59f, 0.21f, 0.79f});
  EXPECT_NEAR(eembc_class_auc(scores, {0, 1, 0, 1}, 0), 0.75, 1e-12);
  // Perfectly separated: AUC 1.
  EXPECT_NEAR(eembc_class_auc(scores, {0, 0, 1, 1}, 0), 1.0, 1e-12);
}

TEST(Npy, RoundTripAndBogusHeaders) {
  const auto path = temp_path("t.npy");
  const auto t = Tensor::from<std::int64_t>({3}, std::vector<std::int64_t>{5, -1, 7});
  write_npy(path, t);
  const auto back = read_npy(path);
  EXPECT_EQ(back.shape(), (Shape{3}));
  EXPECT_EQ(back.data<std::int64_t>()[1], -1);
  const auto m = Tensor::from<float>({2, 2}, std::vector<float>{1, 2, 3, 4});
  write_npy(path, m);
  EXPECT_EQ(read_npy(path).shape(), (Shape{2, 2}));

  // A header that claims far more data than the file holds must not allocate it.
  std::string bytes = encode_npy(t);
  const auto pos = bytes.find("(3,)");
  bytes.replace(pos, 4, "(99999999999,)");
  {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }
  try {
    read_npy(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("payload"));
  }
  {
    std::ofstream out(path, std::ios::binary);
    out << "not numpy";
  }
  EXPECT_THROW(read_npy(path), Error);
  fs::remove(path);
}

}  // namespace
}  // namespace tinyq::eval
