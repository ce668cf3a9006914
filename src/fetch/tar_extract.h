#pragma once
// Takes chosen members out of a .tar.gz through libarchive, and nothing else:
// no paths from the archive are ever used to name files on disk.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace tinyq::fetch {

struct MemberTarget {
  std::filesystem::path file;  // where the member's bytes go (created or truncated)
  std::uint64_t max_bytes;     // a larger member is refused before it is written
};

// Writes each wanted member (keyed by its path in the archive) to its target.
// Throws Error naming the archive for a damaged archive or a member that is
// missing or too large.
void extract_members(const std::filesystem::path& archive, const std::map<std::string, MemberTarget>& wanted);

}  // namespace tinyq::fetch
