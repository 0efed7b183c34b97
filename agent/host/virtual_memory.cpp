#include "host/virtual_memory.h"

#include <cmath>
#include <map>
#include <sstream>

#include "target/procfs.h"

namespace sonde::host {

VirtualMemory parse_meminfo(const std::string& text) {
  std::map<std::string, uint64_t> kb;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    kb[line.substr(0, colon)] = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
  }
  auto bytes = [&](const char* k) { return kb.count(k) ? kb[k] * 1024 : 0; };
  VirtualMemory m;
  m.total = bytes("MemTotal");
  m.free = bytes("MemFree");
  m.buffers = bytes("Buffers");
  // psutil counts reclaimable slab as cache, like free(1).
  m.cached = bytes("Cached") + bytes("SReclaimable");
  m.shared = bytes("Shmem");
  m.active = bytes("Active");
  m.inactive = bytes("Inactive");
  m.slab = bytes("Slab");
  m.available = kb.count("MemAvailable") ? bytes("MemAvailable") : m.free + m.cached + m.buffers;
  int64_t used = static_cast<int64_t>(m.total) - static_cast<int64_t>(m.free) -
                 static_cast<int64_t>(m.cached) - static_cast<int64_t>(m.buffers);
  if (used < 0) used = static_cast<int64_t>(m.total) - static_cast<int64_t>(m.free);
  m.used = static_cast<uint64_t>(used);
  m.percent = m.total ? std::round(double(m.total - m.available) / double(m.total) * 1000.0) / 10.0 : 0;
  return m;
}

Result<VirtualMemory> read_virtual_memory() {
  auto text = target::read_text_file("/proc/meminfo");
  if (!text) return std::unexpected(text.error());
  return parse_meminfo(*text);
}

}  // namespace sonde::host
