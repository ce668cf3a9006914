#pragma once
// One HTTP(S) GET into a file, through libcurl: redirects followed, HTTP
// errors and stalls turned into errors that name the URL, and a size cap so a
// wrong or hostile server cannot fill the disk.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace tinyq::fetch {

// Called with bytes received so far and the expected total (0 when unknown).
using ProgressCallback = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct DownloadLimits {
  std::uint64_t max_bytes;
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;  // abort when under 1 byte/s for this long
};

// Writes the body to `destination` (created or truncated). Throws Error naming
// the URL: HTTP status (404 ...), connection failure, interrupted transfer.
void http_download(const std::string& url, const std::filesystem::path& destination, const DownloadLimits& limits,
                   const ProgressCallback& progress);

}  // namespace tinyq::fetch
