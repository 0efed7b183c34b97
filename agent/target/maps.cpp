#include "target/maps.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "target/procfs.h"

namespace sonde::target {

const Mapping* Maps::find(uint64_t addr) const {
  auto it = std::upper_bound(mappings.begin(), mappings.end(), addr,
                             [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == mappings.begin()) return nullptr;
  --it;
  return it->contains(addr) ? &*it : nullptr;
}

Maps parse_maps(const std::string& text) {
  Maps maps;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    char perms[8] = {};
    char dev[32] = {};
    int path_at = 0;
    unsigned long long start, end, offset, inode;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms,
                    &offset, dev, &inode, &path_at) < 6)
      continue;
    m.start = start;
    m.end = end;
    m.offset = offset;
    m.inode = inode;
    m.dev = dev;
    m.readable = perms[0] == 'r';
    m.writable = perms[1] == 'w';
    m.executable = perms[2] == 'x';
    m.shared = perms[3] == 's';
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) m.path = line.substr(path_at);
    maps.mappings.push_back(std::move(m));
  }
  return maps;
}

Result<Maps> read_maps(pid_t pid) {
  auto text = read_proc_file(pid, "maps");
  if (!text) return std::unexpected(text.error());
  return parse_maps(*text);
}

std::string node_path(pid_t pid, const std::string& path_in_node) {
  return "/proc/" + std::to_string(pid) + "/root" + path_in_node;
}

}  // namespace sonde::target
