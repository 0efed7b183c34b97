// The node's memory map (/proc/PID/maps): which module backs an address, and
// where its file is when read from the agent's side (/proc/PID/root/...).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::target {

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;      // exclusive
  uint64_t offset = 0;   // file offset of `start`
  bool readable = false, writable = false, executable = false, shared = false;
  uint64_t inode = 0;
  std::string dev;       // "fd:01"
  std::string path;      // as the node sees it; "" for anonymous, "[stack]", "[heap]", ...

  bool contains(uint64_t addr) const { return addr >= start && addr < end; }
  bool is_file() const { return inode != 0 && !path.empty() && path[0] == '/'; }
};

struct Maps {
  std::vector<Mapping> mappings;  // sorted by start, as the kernel lists them

  const Mapping* find(uint64_t addr) const;
};

// Parses the text of a maps file (a unit-testable step of read_maps).
Maps parse_maps(const std::string& text);
Result<Maps> read_maps(pid_t pid);

// Path under which the agent opens a file of the node, so a node in another
// mount namespace (a container) works: /proc/PID/root + path.
std::string node_path(pid_t pid, const std::string& path_in_node);

}  // namespace sonde::target
