#include "fetch/fetch_assets.h"

#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>

#include "core/error.h"
#include "fetch/asset_catalog.h"
#include "fetch/http_download.h"
#include "fetch/sha256.h"
#include "fetch/tar_extract.h"

namespace tinyq::fetch {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPartMarker = ".tinyq-part-";

// A temporary file beside its final name; removed unless it was renamed.
class PartFile {
 public:
  explicit PartFile(const fs::path& final_path)
      : path_(final_path.parent_path() / ("." + final_path.filename().string() + kPartMarker + std::to_string(::getpid()))) {}
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;
  ~PartFile() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  void commit(const fs::path& final_path) {
    std::error_code error;
    fs::rename(path_, final_path, error);
    if (error) throw Error(final_path.string() + ": cannot move the checked file into place: " + error.message());
    path_.clear();
  }

 private:
  fs::path path_;
};

bool starts_with_lfs_pointer(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(24, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return head.rfind("version https://git-lfs", 0) == 0;
}

// Throws when `file` is not the catalog's bytes; `origin` says where they came from.
void verify(const Asset& asset, const fs::path& file, const std::string& origin) {
  const std::string actual = sha256_of_file(file);
  if (actual == asset.sha256) return;
  std::string hint = "a different or damaged file";
  if (starts_with_lfs_pointer(file)) hint = "a Git LFS pointer, not the file itself";
  throw Error(asset.destination + " from " + origin + ": SHA-256 " + actual + " does not match the expected " +
              asset.sha256 + " (" + hint + "); nothing was written");
}

// Files a killed earlier run may have left under temporary names.
void remove_stale_parts(const fs::path& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return;
  for (const auto& entry : fs::directory_iterator(dir, error))
    if (entry.path().filename().string().find(kPartMarker) != std::string::npos) fs::remove(entry.path(), error);
}

std::string trimmed(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::string source_url(const std::string& mirror, const std::string& repository_path) {
  return (mirror.empty() ? std::string(kTinyRepositoryUrl) : trimmed(mirror)) + "/" + repository_path;
}

std::string cifar_archive_url(const std::string& mirror) {
  return mirror.empty() ? std::string(kCifarArchiveUrl) : trimmed(mirror) + "/" + kCifarArchiveName;
}

FetchSummary fetch_assets(const FetchOptions& options, const FetchEvents& events) {
  FetchSummary summary;
  auto note = [&](const std::string& line) {
    if (events.note) events.note(line);
  };
  std::vector<const Asset*> from_archive;
  for (const Asset& asset : asset_catalog()) {
    const fs::path final_path = options.assets / asset.destination;
    if (fs::exists(final_path)) {
      if (sha256_of_file(final_path) == asset.sha256) {
        ++summary.present;
        note(asset.destination + ": present, SHA-256 matches");
        continue;
      }
      note(asset.destination + ": present but its SHA-256 does not match; fetching it again");
    }
    if (asset.in_cifar_archive) {
      from_archive.push_back(&asset);
      continue;
    }
    fs::create_directories(final_path.parent_path());
    remove_stale_parts(final_path.parent_path());
    const std::string url = source_url(options.mirror, asset.source);
    PartFile part(final_path);
    try {
      http_download(url, part.path(), {asset.size}, [&](std::uint64_t done, std::uint64_t total) {
        if (events.progress) events.progress(asset.destination, done, total ? total : asset.size);
      });
    } catch (const Error& e) {
      // An optional file (kept upstream only in an older tree) never stops the others.
      if (!asset.required) {
        summary.optional_missing.push_back(asset.destination);
        note(asset.destination + ": optional, not fetched (" + e.what() + "); skipped");
        continue;
      }
      throw;
    }
    verify(asset, part.path(), url);
    part.commit(final_path);
    ++summary.downloaded;
    note(asset.destination + ": downloaded from " + url + ", SHA-256 matches");
  }

  if (!from_archive.empty()) {
    const fs::path data_dir = options.assets / "data";
    fs::create_directories(data_dir);
    remove_stale_parts(data_dir);
    const std::string url = cifar_archive_url(options.mirror);
    PartFile archive(data_dir / kCifarArchiveName);
    http_download(url, archive.path(), {kCifarArchiveMaxBytes}, [&](std::uint64_t done, std::uint64_t total) {
      if (events.progress) events.progress(kCifarArchiveName, done, total);
    });
    note(std::string(kCifarArchiveName) + ": downloaded from " + url);
    std::map<std::string, MemberTarget> wanted;
    std::vector<std::unique_ptr<PartFile>> parts;
    for (const Asset* asset : from_archive) {
      const fs::path final_path = options.assets / asset->destination;
      fs::create_directories(final_path.parent_path());
      remove_stale_parts(final_path.parent_path());
      parts.push_back(std::make_unique<PartFile>(final_path));
      wanted[asset->source] = {parts.back()->path(), asset->size};
    }
    extract_members(archive.path(), wanted);
    // Check every member before moving any into place.
    for (const Asset* asset : from_archive) verify(*asset, wanted[asset->source].file, url + " (" + asset->source + ")");
    for (std::size_t i = 0; i < from_archive.size(); ++i) {
      parts[i]->commit(options.assets / from_archive[i]->destination);
      ++summary.downloaded;
      note(from_archive[i]->destination + ": extracted from " + kCifarArchiveName + ", SHA-256 matches");
    }
  }
  return summary;
}

}  // namespace tinyq::fetch
