#pragma once
// Which images calibrate the quantizer. By default a stratified sample of the
// training batch (the same number of images per class), drawn with a seeded
// Mersenne Twister and a Fisher-Yates shuffle written here, so the same seed
// gives the same list on every platform.
#include <cstdint>
#include <vector>

#include "eval/cifar10.h"

namespace tinyq::eval {

std::vector<std::int64_t> stratified_indices(const std::vector<std::uint8_t>& labels, std::size_t count, std::uint32_t seed);

}  // namespace tinyq::eval
