#include "fetch/tar_extract.h"

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <memory>
#include <set>
#include <vector>

#include "core/error.h"

namespace tinyq::fetch {

void extract_members(const std::filesystem::path& archive_path, const std::map<std::string, MemberTarget>& wanted) {
  const std::string name = archive_path.string();
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), name.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(name + ": cannot open as .tar.gz: " + archive_error_string(a.get()));
  std::set<std::string> found;
  std::vector<char> buffer(1 << 16);
  archive_entry* entry = nullptr;
  while (found.size() < wanted.size()) {
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      throw Error(name + ": damaged archive: " + std::string(archive_error_string(a.get())));
    const std::string member = archive_entry_pathname(entry);
    const auto it = wanted.find(member);
    if (it == wanted.end() || archive_entry_filetype(entry) != AE_IFREG) continue;  // skipped unread
    if (archive_entry_size_is_set(entry) && static_cast<std::uint64_t>(archive_entry_size(entry)) > it->second.max_bytes)
      throw Error(name + ": member " + member + " is " + std::to_string(archive_entry_size(entry)) +
                  " bytes, more than expected; refusing it");
    std::ofstream out(it->second.file, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(it->second.file.string() + ": cannot create");
    std::uint64_t written = 0;
    while (true) {
      const la_ssize_t n = archive_read_data(a.get(), buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) throw Error(name + ": damaged archive while reading " + member + ": " + archive_error_string(a.get()));
      written += static_cast<std::uint64_t>(n);
      if (written > it->second.max_bytes) throw Error(name + ": member " + member + " is larger than expected; refusing it");
      out.write(buffer.data(), n);
    }
    out.close();
    if (!out) throw Error(it->second.file.string() + ": write failed (disk full?)");
    found.insert(member);
  }
  for (const auto& [member, target] : wanted)
    if (!found.count(member)) throw Error(name + ": has no member " + member + " (is this the CIFAR-10 binary version?)");
}

}  // namespace tinyq::fetch
