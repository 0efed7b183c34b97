// What /api/status and /metrics say about the node: psutil's names and units
// (bytes, seconds) so the numbers match what operators already read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "target/node.h"

namespace sonde::target {

// psutil.Process.cpu_times() on Linux.
struct CpuTimes {
  double user = 0, system = 0, children_user = 0, children_system = 0, iowait = 0;
};

// psutil.Process.memory_info() on Linux: pmem from /proc/PID/statm, in bytes.
struct MemoryInfo {
  uint64_t rss = 0, vms = 0, shared = 0, text = 0, lib = 0, data = 0, dirty = 0;
};

struct NodeFacts {
  pid_t pid = 0;
  std::vector<std::string> cmdline;
  std::string exe;          // readlink /proc/PID/exe ("" when not readable)
  double start_time = 0;    // seconds since the epoch
  double uptime = 0;        // seconds
  int64_t num_threads = 0;
  int64_t num_fds = -1;     // -1 when not readable
  CpuTimes cpu_times;
  MemoryInfo memory_info;
};

MemoryInfo parse_statm(const std::string& text, long page_size);
Result<NodeFacts> read_node_facts(const NodeId& id);

}  // namespace sonde::target
