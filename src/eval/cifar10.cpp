#include "eval/cifar10.h"

#include <algorithm>
#include <fstream>

#include "core/assets.h"
#include "core/error.h"
#include "core/npy.h"

namespace tinyq::eval {

LabeledImages read_cifar10(const std::vector<std::filesystem::path>& batch_files) {
  constexpr std::int64_t record = 1 + kCifarPixels;
  std::int64_t total = 0;
  for (const auto& file : batch_files) {
    if (!std::filesystem::exists(file)) throw Error(file.string() + ": CIFAR-10 batch not found; " + download_hint(file));
    const auto size = static_cast<std::int64_t>(std::filesystem::file_size(file));
    if (size == 0 || size % record != 0)
      throw Error(file.string() + ": size " + std::to_string(size) + " is not a multiple of the CIFAR-10 record size " +
                  std::to_string(record) + " (1 label byte + 3072 pixels); is this the binary version?");
    total += size / record;
  }
  LabeledImages set{Tensor(DType::u8, {total, kCifarChannels, kCifarSide, kCifarSide}), {}};
  set.labels.reserve(static_cast<std::size_t>(total));
  auto pixels = set.images.data<std::uint8_t>();
  std::vector<char> buffer(record);
  std::int64_t at = 0;
  for (const auto& file : batch_files) {
    std::ifstream in(file, std::ios::binary);
    for (std::int64_t r = 0; in.read(buffer.data(), record); ++r, ++at) {
      const auto label = static_cast<std::uint8_t>(buffer[0]);
      if (label >= kCifarClasses)
        throw Error(file.string() + ": record " + std::to_string(r) + " has label byte " + std::to_string(label) +
                    " (> 9); not a CIFAR-10 batch");
      set.labels.push_back(label);
      std::copy(buffer.begin() + 1, buffer.end(), reinterpret_cast<char*>(pixels.data()) + at * kCifarPixels);
    }
  }
  return set;
}

LabeledImages select_images(const LabeledImages& all, const std::vector<std::int64_t>& indices) {
  LabeledImages out{Tensor(DType::u8, {static_cast<std::int64_t>(indices.size()), kCifarChannels, kCifarSide, kCifarSide}), {}};
  auto src = all.images.data<std::uint8_t>();
  auto dst = out.images.data<std::uint8_t>();
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::int64_t idx = indices[i];
    if (idx < 0 || idx >= static_cast<std::int64_t>(all.size()))
      throw Error("image index " + std::to_string(idx) + " (entry " + std::to_string(i) + ") is outside the data set of " +
                  std::to_string(all.size()) + " images");
    std::copy_n(src.begin() + idx * kCifarPixels, kCifarPixels, dst.begin() + static_cast<std::int64_t>(i) * kCifarPixels);
    out.labels.push_back(all.labels[static_cast<std::size_t>(idx)]);
  }
  return out;
}

std::vector<std::int64_t> read_index_list(const std::filesystem::path& npy) {
  if (!std::filesystem::exists(npy)) throw Error(npy.string() + ": index list not found; " + download_hint(npy));
  const Tensor t = read_npy(npy);
  if (t.shape().size() != 1) throw Error(npy.string() + ": index list must be 1-D, is " + shape_to_string(t.shape()));
  if (t.dtype() == DType::s64) {
    auto d = t.data<std::int64_t>();
    return {d.begin(), d.end()};
  }
  if (t.dtype() == DType::s32) {
    auto d = t.data<std::int32_t>();
    return {d.begin(), d.end()};
  }
  throw Error(npy.string() + ": index list must hold int32 or int64");
}

Tensor image_batch_f32(const LabeledImages& set, std::size_t begin, std::size_t count) {
  Tensor batch;
  write_image_batch_f32(set, begin, count, batch);
  return batch;
}

void write_image_batch_f32(const LabeledImages& set, std::size_t begin, std::size_t count, Tensor& batch) {
  const Shape shape{static_cast<std::int64_t>(count), kCifarChannels, kCifarSide, kCifarSide};
  if (batch.dtype() != DType::f32 || batch.shape() != shape) batch = Tensor(DType::f32, shape);
  auto src = set.images.data<std::uint8_t>().subspan(begin * kCifarPixels, count * kCifarPixels);
  std::copy(src.begin(), src.end(), batch.data<float>().begin());
}

std::vector<std::string> cifar10_class_names(const std::filesystem::path& data_dir) {
  std::vector<std::string> names;
  std::ifstream in(data_dir / "batches.meta.txt");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  if (names.size() != kCifarClasses)
    names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

}  // namespace tinyq::eval
