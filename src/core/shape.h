#pragma once
// Static shapes with one symbolic dimension: kBatch (-1) stands for the batch
// size N, which is only known when the graph runs.
#include <cstdint>
#include <string>
#include <vector>

namespace tinyq {

using Shape = std::vector<std::int64_t>;
inline constexpr std::int64_t kBatch = -1;

// Product of the dimensions; kBatch counts as 1 (callers that need N multiply it in).
std::int64_t element_count(const Shape& shape);
std::string shape_to_string(const Shape& shape);

}  // namespace tinyq
