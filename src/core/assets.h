#pragma once
// Third-party assets (the Keras model, CIFAR-10, MLPerf index files) are never
// committed. They are found through one setting: the TINYQ_ASSETS environment
// variable, defaulting to ../shared beside the checkout.
#include <filesystem>
#include <string>

namespace tinyq {

std::filesystem::path assets_root();

// Path of an asset relative to the assets root, e.g. "models/pretrainedResnet.h5".
// Throws an Error naming the missing file and where to download it.
std::filesystem::path require_asset(const std::string& relative);

// The checkout tinyq was built from (where the peer scripts live).
std::filesystem::path source_root();

// The same advice for any path the user gave that does not exist.
std::string download_hint(const std::filesystem::path& path);

}  // namespace tinyq
