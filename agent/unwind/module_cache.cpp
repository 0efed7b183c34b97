#include "unwind/module_cache.h"

#include <cinttypes>
#include <cstdio>

namespace sonde::unwind {

namespace {

constexpr const char kDeleted[] = " (deleted)";

// /proc/PID/map_files/START-END: the very file the mapping holds, even when
// its path was deleted or replaced since (needs CAP_SYS_ADMIN, as root).
std::string map_files_path(pid_t pid, const target::Mapping& m) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, static_cast<int>(pid), m.start, m.end);
  return buf;
}

}  // namespace

std::shared_ptr<const Module> ModuleCache::get(pid_t pid, const target::Mapping& m) {
  Key key{m.dev, m.inode, m.path};
  if (auto it = modules_.find(key); it != modules_.end()) return it->second;
  if (modules_.size() >= max_) modules_.clear();  // a crude bound; entries are cheap to rebuild

  ++opens_;
  std::shared_ptr<const Module> mod;
  std::string path = m.path;
  bool deleted = path.size() > sizeof kDeleted - 1 &&
                 path.compare(path.size() - (sizeof kDeleted - 1), std::string::npos, kDeleted) == 0;
  if (!deleted) {
    if (auto r = Module::open(target::node_path(pid, path)); r && (*r)->inode() == m.inode) mod = *r;
  }
  if (!mod) {
    if (auto r = Module::open(map_files_path(pid, m))) mod = *r;
  }
  modules_.emplace(std::move(key), mod);
  return mod;
}

}  // namespace sonde::unwind
