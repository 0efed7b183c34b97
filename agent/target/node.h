// Who the node is: a pid and the moment that process started. A pid alone is
// not an identity: the kernel recycles pids, so every check compares both.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::target {

struct NodeId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // /proc/PID/stat field 22

  bool operator==(const NodeId&) const = default;
};

// The identity of a live process now.
Result<NodeId> identify(pid_t pid);
// True while the process that had this identity is still the one at that pid.
bool still_alive(const NodeId& id);
// Start time of a process in seconds since the epoch.
double start_time_epoch(const NodeId& id);

}  // namespace sonde::target
