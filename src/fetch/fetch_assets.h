#pragma once
// `tinyq fetch`: brings the assets folder to the state the catalog describes.
// Files already there with the right SHA-256 are left alone (a second run
// downloads nothing); every new file is downloaded or extracted under a
// temporary name in its final folder, checked, then renamed, so no file is
// ever half-written under its final name.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tinyq::fetch {

struct FetchOptions {
  std::filesystem::path assets;  // the folder to fill
  std::string mirror;            // base URL replacing both upstreams; empty: upstream
};

struct FetchEvents {
  std::function<void(const std::string& line)> note;  // one line per file and decision
  std::function<void(const std::string& what, std::uint64_t done, std::uint64_t total)> progress;
};

struct FetchSummary {
  int present = 0, downloaded = 0;
  std::vector<std::string> optional_missing;  // optional files the server does not have
};

// The URL a repository file or the CIFAR-10 archive is fetched from.
std::string source_url(const std::string& mirror, const std::string& repository_path);
std::string cifar_archive_url(const std::string& mirror);

FetchSummary fetch_assets(const FetchOptions& options, const FetchEvents& events);

}  // namespace tinyq::fetch
