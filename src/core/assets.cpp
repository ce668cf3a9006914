#include "core/assets.h"

#include <cstdlib>

#include "core/error.h"

namespace tinyq {
namespace {

enum class Origin { environment, shared_beside_checkout, user_cache };

Origin origin() {
  if (const char* env = std::getenv("TINYQ_ASSETS"); env && *env) return Origin::environment;
  std::error_code ignored;
  if (std::filesystem::is_directory(std::filesystem::path(TINYQ_SOURCE_DIR).parent_path() / "shared", ignored))
    return Origin::shared_beside_checkout;
  return Origin::user_cache;
}

}  // namespace

std::filesystem::path assets_root() {
  switch (origin()) {
    case Origin::environment: return std::getenv("TINYQ_ASSETS");
    case Origin::shared_beside_checkout: return std::filesystem::path(TINYQ_SOURCE_DIR).parent_path() / "shared";
    case Origin::user_cache: break;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "tinyq";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "tinyq";
  return std::filesystem::path(".tinyq-assets");
}

std::string assets_root_origin() {
  switch (origin()) {
    case Origin::environment: return "from TINYQ_ASSETS";
    case Origin::shared_beside_checkout: return "../shared beside the checkout";
    case Origin::user_cache: return "the per-user cache; set TINYQ_ASSETS to choose another folder";
  }
  return "";
}

std::filesystem::path source_root() { return TINYQ_SOURCE_DIR; }

std::string download_hint(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  const std::string fetch = "run `tinyq fetch` to download and check every asset into " + assets_root().string();
  if (name.find(".bin") != std::string::npos || path.string().find("cifar-10") != std::string::npos)
    return fetch + ", or get the CIFAR-10 binary version (cifar-10-binary.tar.gz) from the CIFAR-10 page of the "
           "University of Toronto and unpack it so that " + (assets_root() / "data/cifar-10-batches-bin").string() +
           " holds test_batch.bin and data_batch_1.bin";
  return fetch + ", or get it from the mlcommons/tiny repository, benchmark/training/image_classification/ "
         "(trained_models/ for the .h5 and .tflite files), and place it under " + (assets_root() / "models").string();
}

std::filesystem::path require_asset(const std::string& relative) {
  const auto path = assets_root() / relative;
  if (!std::filesystem::exists(path))
    throw Error("missing asset " + path.string() + " (assets folder: " + assets_root_origin() + "): " +
                download_hint(path));
  return path;
}

}  // namespace tinyq
