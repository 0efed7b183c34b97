// The node's ELF files, opened once and kept: a warm second unwind of the same
// process opens and parses nothing. Keyed by the file's identity as the node
// sees it (device, inode, path from /proc/PID/maps), so the same library seen
// by two processes, or by the node after a restart, is one entry, and a file
// replaced on disk (new inode) is a new one.
//
// Not locked: one worker thread at a time may use a cache (the unwind worker
// owns it). It knows nothing about ptrace: ptrace snapshots and eBPF samples
// go through the same cache.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "target/maps.h"
#include "unwind/module.h"

namespace sonde::unwind {

class ModuleCache {
 public:
  explicit ModuleCache(size_t max_modules = 1024) : max_(max_modules) {}

  // The module behind file mapping `m` of process `pid`, opened through
  // /proc/PID/root (containers) on first use, or through
  // /proc/PID/map_files/ when the path no longer names the mapped file
  // (deleted or replaced on disk). nullptr when it cannot be read; that
  // answer is cached too, so a missing file costs one attempt.
  std::shared_ptr<const Module> get(pid_t pid, const target::Mapping& m);

  size_t size() const { return modules_.size(); }
  // Files opened and parsed since construction (tests: a warm unwind adds none).
  size_t opens() const { return opens_; }
  void clear() { modules_.clear(); }

 private:
  using Key = std::tuple<std::string, uint64_t, std::string>;  // dev, inode, path
  std::map<Key, std::shared_ptr<const Module>> modules_;
  size_t max_;
  size_t opens_ = 0;
};

}  // namespace sonde::unwind
