#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"

namespace tinyq {

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  namespace fs = std::filesystem;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir)) throw Error(path.string() + ": folder " + dir.string() + " does not exist");
  const fs::path temp = dir / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(temp.string() + ": cannot create: " + std::strerror(errno));
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw Error(temp.string() + ": write failed: " + std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw Error(path.string() + ": cannot rename temporary file into place: " + ec.message());
  }
}

void ensure_not_input(const std::filesystem::path& output, const std::filesystem::path& input) {
  std::error_code ec;
  if (std::filesystem::exists(output, ec) && std::filesystem::equivalent(output, input, ec))
    throw Error(output.string() + ": refusing to overwrite the input file");
}

}  // namespace tinyq
