#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal so
// that piped and logged output stays clean.
#include <chrono>
#include <cstddef>

namespace tinyq::cli {

class ProgressBar {
 public:
  explicit ProgressBar(const char* label);
  void update(std::size_t done, std::size_t total);
  void finish();

 private:
  const char* label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace tinyq::cli
