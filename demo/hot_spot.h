// The CPU hot spot: a thread "hot-spot" that splits its CPU time 3:1 between
// demo::hot::compute_heavy() and demo::hot::compute_light().
#pragma once

#include <cstdint>
#include <latch>
#include <thread>

namespace demo::hot {

std::uint64_t compute_heavy(std::uint64_t seed);
std::uint64_t compute_light(std::uint64_t seed);

// Starts the thread; it counts `started` down once it is burning CPU.
std::thread start(std::latch& started);

}  // namespace demo::hot
