// Idle workers: threads "worker-1".."worker-N" parked in demo::workers::wait_for_job()
// on a condition variable that is signalled only at shutdown.
#pragma once

#include <latch>
#include <thread>
#include <vector>

namespace demo::workers {

// Blocks until a job arrives (never) or shutdown; returns false on shutdown.
bool wait_for_job();

std::vector<std::thread> start(int count, std::latch& started);
// Wakes every worker so it can return.
void wake_all();

}  // namespace demo::workers
