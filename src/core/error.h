#pragma once
// One exception type for every user-facing failure (bad file, unsupported layer,
// missing asset). Its message must name the file, layer or field, what was
// expected and what was found; the CLI prints it and exits non-zero.
#include <stdexcept>
#include <string>

namespace tinyq {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tinyq
