// The allocator workload: a thread "malloc-churn" that allocates and frees blocks
// of 16 B .. 256 KiB, keeping a few MiB live in its own glibc arena.
#pragma once

#include <latch>
#include <thread>

namespace demo::churn {

std::thread start(std::latch& started);

}  // namespace demo::churn
