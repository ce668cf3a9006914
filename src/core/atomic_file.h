#pragma once
// Every output file is written to a temporary file in the same folder and then
// renamed over the target, so a reader never sees half a file and an
// interrupted run leaves the old file intact.
#include <filesystem>
#include <string_view>

namespace tinyq {

void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

// Refuses to write over a file the command read (an input is never overwritten).
void ensure_not_input(const std::filesystem::path& output, const std::filesystem::path& input);

}  // namespace tinyq
