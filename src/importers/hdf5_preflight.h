#pragma once
// Checks, before libhdf5 sees a file, the few structures that Debian's libhdf5
// 1.10 trusts so far that a damaged file makes it hang instead of failing.
// Found by the .h5 fuzzer (tests/fuzz); each check names the input that
// showed it in docs/RELIABILITY.md.
#include <filesystem>

namespace tinyq::importers {

// Throws Error naming the file and the offset of the bad structure.
void preflight_hdf5(const std::filesystem::path& path);

}  // namespace tinyq::importers
