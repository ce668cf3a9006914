#pragma once
// CIFAR-10, official binary version: records of 1 label byte + 3072 pixel
// bytes (1024 R, 1024 G, 1024 B, row-major 32x32). That is already NCHW, so
// images go to the model as raw 0..255 floats with no reordering, exactly as
// the MLPerf Tiny ResNet8 was trained.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyq::eval {

inline constexpr std::int64_t kCifarChannels = 3, kCifarSide = 32, kCifarClasses = 10;
inline constexpr std::int64_t kCifarPixels = kCifarChannels * kCifarSide * kCifarSide;

struct LabeledImages {
  Tensor images;  // u8 [N, 3, 32, 32]
  std::vector<std::uint8_t> labels;
  std::size_t size() const { return labels.size(); }
};

// Reads and concatenates batch files; a size that is not a whole number of
// records, or a label byte > 9, is an error naming the file and record.
LabeledImages read_cifar10(const std::vector<std::filesystem::path>& batch_files);

// The images at `indices` (in that order); an index out of range is an error.
LabeledImages select_images(const LabeledImages& all, const std::vector<std::int64_t>& indices);

// An index list from a 1-D integer .npy file (e.g. MLPerf's perf_samples_idxs.npy).
std::vector<std::int64_t> read_index_list(const std::filesystem::path& npy);

// Images [begin, begin + count) as f32 [count, 3, 32, 32] with raw pixel values.
Tensor image_batch_f32(const LabeledImages& set, std::size_t begin, std::size_t count);
// The same into `batch`, reallocated only when its shape differs: a loop over
// batches reuses one buffer instead of faulting in fresh pages every batch.
void write_image_batch_f32(const LabeledImages& set, std::size_t begin, std::size_t count, Tensor& batch);

// Class names from batches.meta.txt in `data_dir`, or CIFAR-10's own names.
std::vector<std::string> cifar10_class_names(const std::filesystem::path& data_dir);

}  // namespace tinyq::eval
