#pragma once
// Every third-party file tinyq can fetch, where it comes from, and the SHA-256
// it must have. The table is the trust anchor: nothing lands in the assets
// folder without matching it.
#include <cstdint>
#include <string>
#include <vector>

namespace tinyq::fetch {

// MLPerf Tiny, pinned: a moving branch could change a model under our tests.
inline constexpr const char* kTinyRepositoryUrl =
    "https://raw.githubusercontent.com/mlcommons/tiny/1afd2c9820f795965a6134facd0b4dfae41ef23f";
inline constexpr const char* kCifarArchiveUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
inline constexpr const char* kCifarArchiveName = "cifar-10-binary.tar.gz";

struct Asset {
  std::string destination;  // relative to the assets folder, e.g. "models/pretrainedResnet.h5"
  std::string source;       // path under the repository URL, or the member inside the CIFAR-10 archive
  bool in_cifar_archive;    // else a file of the mlcommons/tiny repository
  std::string sha256;
  std::uint64_t size;
  bool required;            // optional files missing upstream are reported, not fatal
};

const std::vector<Asset>& asset_catalog();

// The archive is ~170 MB; anything much larger is not it.
inline constexpr std::uint64_t kCifarArchiveMaxBytes = 200ull << 20;

}  // namespace tinyq::fetch
