#pragma once
// Third-party assets (the Keras model, CIFAR-10, MLPerf index files) are never
// committed. They live in one folder, found by one rule:
//   1. the TINYQ_ASSETS environment variable, when set;
//   2. else ../shared beside the checkout, when that folder exists;
//   3. else the per-user cache, $XDG_CACHE_HOME/tinyq (default ~/.cache/tinyq).
// `tinyq fetch` fills that folder.
#include <filesystem>
#include <string>

namespace tinyq {

std::filesystem::path assets_root();

// Which step of the rule chose assets_root(), for messages.
std::string assets_root_origin();

// Path of an asset relative to the assets root, e.g. "models/pretrainedResnet.h5".
// Throws an Error naming the missing file and how to get it.
std::filesystem::path require_asset(const std::string& relative);

// The checkout tinyq was built from (where the peer scripts live).
std::filesystem::path source_root();

// The same advice for any path the user gave that does not exist.
std::string download_hint(const std::filesystem::path& path);

}  // namespace tinyq
