#include "fetch/http_download.h"

#include <curl/curl.h>

#include <cstdio>
#include <memory>

#include "core/error.h"

namespace tinyq::fetch {
namespace {

struct Transfer {
  std::FILE* file = nullptr;
  const ProgressCallback* progress = nullptr;
  bool write_failed = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (std::fwrite(data, 1, n, t->file) != n) {
    t->write_failed = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  return n;
}

int report_progress(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->progress) (*t->progress)(static_cast<std::uint64_t>(done), static_cast<std::uint64_t>(total));
  return 0;
}

// libcurl's global state, set up once for the process.
void init_curl_once() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!ok) throw Error("libcurl could not be initialised");
}

}  // namespace

void http_download(const std::string& url, const std::filesystem::path& destination, const DownloadLimits& limits,
                   const ProgressCallback& progress) {
  init_curl_once();
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(destination.c_str(), "wb"), std::fclose);
  if (!file) throw Error(destination.string() + ": cannot create");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error("libcurl could not start a transfer");
  Transfer transfer{file.get(), &progress};
  char error_text[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);  // HTTP >= 400 is an error, not a body to save
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, limits.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, limits.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tinyq-fetch/0.1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, report_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  const CURLcode result = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const std::string detail = error_text[0] ? error_text : curl_easy_strerror(result);
  if (result == CURLE_HTTP_RETURNED_ERROR)
    throw Error("HTTP " + std::to_string(status) + " for " + url + (status == 404 ? " (not found on the server)" : ""));
  if (result == CURLE_FILESIZE_EXCEEDED)
    throw Error(url + ": larger than the " + std::to_string(limits.max_bytes >> 20) + " MiB expected; refusing it");
  if (result == CURLE_PARTIAL_FILE || result == CURLE_RECV_ERROR || result == CURLE_GOT_NOTHING ||
      result == CURLE_OPERATION_TIMEDOUT)
    throw Error("download of " + url + " was interrupted (" + detail + "); nothing was kept, run the command again");
  if (transfer.write_failed) throw Error(destination.string() + ": write failed (disk full?) while downloading " + url);
  if (result != CURLE_OK) throw Error("cannot download " + url + ": " + detail);
  if (std::fflush(file.get()) != 0) throw Error(destination.string() + ": write failed (disk full?)");
}

}  // namespace tinyq::fetch
