#pragma once
// SHA-256 of a file, through OpenSSL's EVP interface, as lowercase hex.
#include <filesystem>
#include <string>

namespace tinyq::fetch {

std::string sha256_of_file(const std::filesystem::path& path);

}  // namespace tinyq::fetch
