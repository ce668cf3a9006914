#include "eval/calibration_set.h"

#include <algorithm>
#include <random>

#include "core/error.h"

namespace tinyq::eval {

std::vector<std::int64_t> stratified_indices(const std::vector<std::uint8_t>& labels, std::size_t count, std::uint32_t seed) {
  if (labels.empty()) throw Error("calibration: the data set is empty");
  const std::size_t classes = static_cast<std::size_t>(*std::max_element(labels.begin(), labels.end())) + 1;
  std::vector<std::vector<std::int64_t>> by_class(classes);
  for (std::size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<std::int64_t>(i));
  std::mt19937 rng(seed);
  for (auto& members : by_class)
    for (std::size_t i = members.size(); i > 1; --i) {
      // Uniform j in [0, i) from raw 32-bit draws (rejection keeps it unbiased).
      const std::uint32_t bound = static_cast<std::uint32_t>(i), limit = UINT32_MAX - UINT32_MAX % bound;
      std::uint32_t r;
      do r = rng();
      while (r >= limit);
      std::swap(members[i - 1], members[r % bound]);
    }
  // Round-robin over classes so any count stays as balanced as possible.
  std::vector<std::int64_t> picked;
  for (std::size_t round = 0; picked.size() < count; ++round) {
    bool any = false;
    for (auto& members : by_class)
      if (round < members.size() && picked.size() < count) picked.push_back(members[round]), any = true;
    if (!any) break;
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}

}  // namespace tinyq::eval
