#pragma once
// Runs task(i) for every i in [0, count) on `threads` threads (the calling
// thread included), handing out indices in increasing order. The first
// exception stops the hand-out and is rethrown once every thread has stopped.
#include <cstddef>
#include <functional>

namespace tinyq {

void parallel_for(std::size_t count, unsigned threads, const std::function<void(std::size_t)>& task);

}  // namespace tinyq
