// The host's memory as psutil.virtual_memory() reports it on Linux, with the
// same field names and formulas, so an operator's dashboards read the same.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace sonde::host {

struct VirtualMemory {
  uint64_t total = 0, available = 0, used = 0, free = 0, active = 0, inactive = 0, buffers = 0,
           cached = 0, shared = 0, slab = 0;
  double percent = 0;  // (total - available) / total * 100, one decimal
};

VirtualMemory parse_meminfo(const std::string& text);
Result<VirtualMemory> read_virtual_memory();

}  // namespace sonde::host
