// The node's memory as the kernel counts it (procfs): psutil's pmem from
// statm, the smaps_rollup totals, and one record per mapping from smaps.
// These are resident figures: what the node costs the machine right now.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "target/maps.h"
#include "target/node_facts.h"

namespace sonde::memory {

// /proc/PID/smaps_rollup (or the sum of smaps where there is no rollup), in
// bytes. Only the kernel's own fields; a missing one stays 0.
struct SmapsRollup {
  uint64_t rss = 0, pss = 0, pss_anon = 0, pss_file = 0, pss_shmem = 0;
  uint64_t shared_clean = 0, shared_dirty = 0, private_clean = 0, private_dirty = 0;
  uint64_t referenced = 0, anonymous = 0, lazy_free = 0, anon_huge = 0;
  uint64_t swap = 0, swap_pss = 0, locked = 0;
};

// One mapping of /proc/PID/smaps: the maps line plus its sizes, in bytes.
struct SmapsEntry {
  target::Mapping map;
  uint64_t size = 0, rss = 0, pss = 0, shared_clean = 0, shared_dirty = 0;
  uint64_t private_clean = 0, private_dirty = 0, anonymous = 0, swap = 0;
};

// Parsers for the texts (unit-tested apart from /proc).
SmapsRollup parse_smaps_rollup(const std::string& text);
std::vector<SmapsEntry> parse_smaps(const std::string& text);
// Sums entries into a rollup (kernels before 4.14 have no smaps_rollup).
SmapsRollup rollup_of(const std::vector<SmapsEntry>& entries);

struct ProcMemory {
  target::MemoryInfo pmem;              // psutil.Process.memory_info(), bytes
  SmapsRollup rollup;
  bool rollup_from_kernel = false;      // false: summed from smaps
  std::vector<SmapsEntry> mappings;     // every mapping, in address order
};

// Reads statm, smaps_rollup and smaps of `pid`. Reading smaps walks the
// node's page tables under its mmap lock (the kernel's work, not a stop of
// the node); thousands of mappings take a few milliseconds.
Result<ProcMemory> read_proc_memory(pid_t pid);

}  // namespace sonde::memory
