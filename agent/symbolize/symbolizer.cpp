#include "symbolize/symbolizer.h"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <set>

namespace sonde::symbolize {

namespace {

// Past these sizes the caches drop what no longer serves (see sweep_locked).
constexpr size_t kMaxViews = 4096;
constexpr size_t kMaxModules = 1024;
constexpr std::chrono::minutes kViewIdle{10};

// /proc/PID/maps marks files removed or replaced on disk " (deleted)".
std::string strip_deleted(const std::string& path) {
  static const std::string suffix = " (deleted)";
  if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return path.substr(0, path.size() - suffix.size());
  return path;
}

bool is_vdso(const target::Mapping& m) { return m.path == "[vdso]"; }

// The file the node really maps, even when the path now names another file.
std::string map_files_path(pid_t pid, const target::Mapping& m) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, static_cast<int>(pid),
                m.start, m.end);
  return buf;
}

}  // namespace

Symbolizer::Symbolizer(SymbolizerOptions options) : options_(std::move(options)) {
  module_options_.use_debug_files = options_.use_debug_files;
  module_options_.debug_dirs = options_.debug_dirs;
  module_options_.source_lines = options_.source_lines;
}

std::vector<SymbolFrame> Symbolizer::symbolize(pid_t pid, const target::Maps& maps, uint64_t pc,
                                               bool return_address) {
  SymbolFrame unknown;
  unknown.address = pc;
  const target::Mapping* mapping = maps.find(pc);
  if (mapping == nullptr) return {unknown};
  unknown.module = mapping->is_file() ? strip_deleted(mapping->path) : mapping->path;
  if (!mapping->is_file() && !is_vdso(*mapping)) return {unknown};

  bool loaded = false;
  auto module = module_for(pid, *mapping, &loaded);
  if (!module) return {unknown};
  if (!loaded) ++cache_hits_;

  uint64_t vaddr = 0;
  if (!module->vaddr_of_offset(pc - mapping->start + mapping->offset, &vaddr)) return {unknown};
  bool from_cache = false;
  auto frames = module->symbolize(vaddr, return_address, &from_cache);
  if (from_cache) ++result_hits_;
  for (auto& f : frames) {
    f.module = unknown.module;
    f.address = pc;
  }
  return frames;
}

Result<ModuleInfo> Symbolizer::module_info(pid_t pid, const target::Maps& maps, uint64_t pc) {
  const target::Mapping* mapping = maps.find(pc);
  if (mapping == nullptr || (!mapping->is_file() && !is_vdso(*mapping)))
    return fail(ErrorCode::not_found, "no file is mapped at this address in pid " + std::to_string(pid));
  bool loaded = false;
  auto module = module_for(pid, *mapping, &loaded);
  if (!module)
    return fail(ErrorCode::io, "cannot read " + strip_deleted(mapping->path) + " of pid " +
                                   std::to_string(pid) + " as ELF");
  return module->info();
}

std::shared_ptr<Module> Symbolizer::module_for(pid_t pid, const target::Mapping& mapping,
                                               bool* loaded) {
  const std::string path = strip_deleted(mapping.path);
  ViewKey key{pid, mapping.start, mapping.inode, path};
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = views_.find(key);
    if (it != views_.end() && now - it->second.checked < options_.revalidate_after)
      return it->second.module;
  }
  auto module = is_vdso(mapping) ? resolve_vdso(pid, mapping, loaded)
                                 : resolve(pid, mapping, path, loaded);
  std::lock_guard lock(mu_);
  views_[key] = View{module, now};
  sweep_locked(now);
  return module;
}

// Finds (or loads) the module for the file that `mapping` really maps.
std::shared_ptr<Module> Symbolizer::resolve(pid_t pid, const target::Mapping& mapping,
                                            const std::string& path, bool* loaded) {
  ++files_checked_;
  // Through the node's root first: it works without extra privileges. Its
  // inode must be the mapped one (maps shows the inode the node runs), else
  // the file was replaced on disk. The device is not compared: overlayfs
  // reports its own device to stat but the backing one in maps.
  std::string open_path = target::node_path(pid, path);
  auto id = identity_of(open_path);
  if (!id || id->inode != mapping.inode) {
    // map_files opens the mapped file itself; it needs CAP_SYS_ADMIN (or
    // CAP_CHECKPOINT_RESTORE). Without it we give no names rather than
    // the names of the wrong build.
    open_path = map_files_path(pid, mapping);
    id = identity_of(open_path);
    if (!id || id->inode != mapping.inode) return nullptr;
  }
  const IdentityKey ikey{id->dev, id->inode, id->size, id->mtime_ns};
  {
    std::lock_guard lock(mu_);
    if (auto it = by_identity_.find(ikey); it != by_identity_.end()) return it->second;
  }

  auto file = ElfFile::open(open_path);
  if (!file) {
    ++load_failures_;
    return nullptr;
  }
  const std::string build_id = (*file)->build_id();
  if (!build_id.empty()) {
    // Another process (or another container) maps the same build: share it.
    std::lock_guard lock(mu_);
    if (auto it = by_build_id_.find(build_id); it != by_build_id_.end()) {
      by_identity_[ikey] = it->second;
      return it->second;
    }
  }

  auto module = Module::load(std::move(*file), pid, path, module_options_);
  *loaded = true;
  ++modules_loaded_;
  std::lock_guard lock(mu_);
  if (!build_id.empty()) {
    // Two threads may have loaded the same build at once: keep one.
    auto [it, inserted] = by_build_id_.emplace(build_id, module);
    module = it->second;
  }
  by_identity_[ikey] = module;
  return module;
}

// The vDSO has no file: its ELF image is read from the node's memory
// (/proc/PID/mem, the same access as ptrace). Every process of one kernel
// maps the same image, so the build-id shares it across processes.
std::shared_ptr<Module> Symbolizer::resolve_vdso(pid_t pid, const target::Mapping& mapping,
                                                 bool* loaded) {
  ++files_checked_;
  constexpr uint64_t kMaxVdso = 1 << 20;  // a vDSO is a few pages; refuse nonsense
  if (mapping.end <= mapping.start || mapping.end - mapping.start > kMaxVdso) return nullptr;
  std::string image(mapping.end - mapping.start, '\0');
  int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  ssize_t n = ::pread(fd, image.data(), image.size(), static_cast<off_t>(mapping.start));
  ::close(fd);
  if (n != static_cast<ssize_t>(image.size())) return nullptr;
  auto file = ElfFile::from_memory(std::move(image), "[vdso]");
  if (!file) {
    ++load_failures_;
    return nullptr;
  }
  const std::string build_id = (*file)->build_id();
  if (!build_id.empty()) {
    std::lock_guard lock(mu_);
    if (auto it = by_build_id_.find(build_id); it != by_build_id_.end()) return it->second;
  }
  ModuleOptions no_debug;  // its debug file, if any, is in the kernel's package
  no_debug.use_debug_files = false;
  auto module = Module::load(std::move(*file), 0, "[vdso]", no_debug);
  *loaded = true;
  ++modules_loaded_;
  if (!build_id.empty()) {
    std::lock_guard lock(mu_);
    module = by_build_id_.emplace(build_id, module).first->second;
  }
  return module;
}

// Keeps the caches bounded: views of processes not asked about for a while
// go, then modules that no remaining view uses.
void Symbolizer::sweep_locked(std::chrono::steady_clock::time_point now) {
  if (views_.size() > kMaxViews) {
    for (auto it = views_.begin(); it != views_.end();)
      it = now - it->second.checked > kViewIdle ? views_.erase(it) : std::next(it);
  }
  if (by_identity_.size() + by_build_id_.size() > kMaxModules) {
    std::set<const Module*> used;
    for (const auto& [k, v] : views_) used.insert(v.module.get());
    std::erase_if(by_identity_, [&](const auto& kv) { return !used.count(kv.second.get()); });
    std::erase_if(by_build_id_, [&](const auto& kv) { return !used.count(kv.second.get()); });
  }
}

Symbolizer::Stats Symbolizer::stats() const {
  Stats s;
  s.modules_loaded = modules_loaded_.load();
  s.cache_hits = cache_hits_.load();
  s.result_hits = result_hits_.load();
  s.files_checked = files_checked_.load();
  s.load_failures = load_failures_.load();
  return s;
}

void Symbolizer::release_debug_info() {
  std::vector<std::shared_ptr<Module>> modules;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, m] : by_build_id_) modules.push_back(m);
    for (const auto& [k, m] : by_identity_) modules.push_back(m);
  }
  // Outside mu_: a module's own lock may be held by a lookup in progress.
  for (const auto& m : modules) m->release_dwarf();
#ifdef __GLIBC__
  // The freed sections are large; give the heap's free pages back too.
  ::malloc_trim(0);
#endif
}

void Symbolizer::forget_process(pid_t pid) {
  std::lock_guard lock(mu_);
  std::erase_if(views_, [pid](const auto& kv) { return kv.first.pid == pid; });
}

}  // namespace sonde::symbolize
