#include "core/assets.h"

#include <cstdlib>

#include "core/error.h"

namespace tinyq {

std::filesystem::path assets_root() {
  if (const char* env = std::getenv("TINYQ_ASSETS"); env && *env) return env;
  return std::filesystem::path(TINYQ_SOURCE_DIR).parent_path() / "shared";
}

std::filesystem::path source_root() { return TINYQ_SOURCE_DIR; }

std::string download_hint(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  if (name.find(".bin") != std::string::npos || path.string().find("cifar-10") != std::string::npos)
    return "get the CIFAR-10 binary version (cifar-10-binary.tar.gz) from the CIFAR-10 page of the University of "
           "Toronto and unpack it so that " + (assets_root() / "data/cifar-10-batches-bin").string() +
           " holds test_batch.bin and data_batch_1.bin";
  return "get it from the mlcommons/tiny repository, benchmark/training/image_classification/ (trained_models/ for "
         "the .h5 and .tflite files), and place it under " + (assets_root() / "models").string();
}

std::filesystem::path require_asset(const std::string& relative) {
  const auto path = assets_root() / relative;
  if (!std::filesystem::exists(path))
    throw Error("missing asset " + path.string() + " (assets folder from TINYQ_ASSETS, default ../shared): " +
                download_hint(path));
  return path;
}

}  // namespace tinyq
