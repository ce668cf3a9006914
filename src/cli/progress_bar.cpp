#include "cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace tinyq::cli {

ProgressBar::ProgressBar(const char* label) : label_(label), enabled_(::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::update(std::size_t done, std::size_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int width = 40;
  const int filled = static_cast<int>(width * done / total);
  std::fprintf(stderr, "\r%s [%s%s] %zu/%zu", label_, std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done, total);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) std::fprintf(stderr, "\r%*s\r", 80, "");
  drawn_ = false;
}

}  // namespace tinyq::cli
