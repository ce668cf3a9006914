#pragma once
// Shared by the libFuzzer targets. tinyq's readers take paths (as users give
// them), so each input is written to one scratch file per process and read
// back through the public API: the fuzzer exercises exactly what a user's bad
// file reaches. A tinyq::Error is the correct answer to bad input; any other
// exception, a sanitizer report, a hang or a huge allocation is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace tinyq::fuzz {

// A scratch file in /dev/shm (memory, not disk) when it exists.
inline const std::filesystem::path& scratch_path(const char* suffix) {
  static const std::filesystem::path path = [suffix] {
    const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    return dir / ("tinyq-fuzz-" + std::to_string(::getpid()) + suffix);
  }();
  return path;
}

inline const std::filesystem::path& write_scratch(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const auto& path = scratch_path(suffix);
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                               static_cast<std::streamsize>(size));
  return path;
}

// Runs `body`, accepting tinyq::Error (the user-facing rejection) as a pass.
template <typename Body>
int expect_clean_rejection(Body&& body) {
  try {
    body();
  } catch (const tinyq::Error&) {
  }
  return 0;
}

}  // namespace tinyq::fuzz
