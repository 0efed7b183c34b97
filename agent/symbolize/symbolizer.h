// The symbolizer's front: absolute pcs of a node's threads -> frames with
// module, demangled function, offset, file:line and inlined functions.
//
// How an address is resolved:
//   pc -> mapping (target::Maps) -> the mapped file, opened through
//   /proc/PID/root (so a node in a container works), or through
//   /proc/PID/map_files/ when the file at that path is no longer the one the
//   node maps (replaced or deleted on disk) -> the file offset of pc -> the
//   link-time address through the file's PT_LOAD headers -> Module.
//   The [vdso] has no file: its image is read from the node's memory.
//
// Caching, so a warm dump parses nothing again:
//   * modules are shared by build-id across processes and calls (the same
//     libc in ten containers is read once); a file without a build-id is
//     keyed by its identity (device, inode, mtime, size);
//   * each (pid, mapping) remembers its module; after `revalidate_after` the
//     file is stat'ed again and, if it changed (a new build deployed, a pid
//     reused), the module is looked up again (and loaded when new) rather
//     than answering with the old file's names;
//   * each module caches its answers per address.
// Stats tells how many modules were loaded and how many calls were served
// from cache.
//
// Thread-safe: any number of threads may call symbolize() at once. Loading a
// module happens outside the cache lock.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "symbolize/module.h"
#include "symbolize/symbol_frame.h"
#include "target/maps.h"

namespace sonde::symbolize {

struct SymbolizerOptions {
  bool use_debug_files = true;
  std::vector<std::string> debug_dirs = {"/usr/lib/debug"};
  bool source_lines = true;  // see ModuleOptions::source_lines
  // How long a (pid, mapping) -> module answer is trusted before the file is
  // stat'ed again; 0 checks on every call.
  std::chrono::milliseconds revalidate_after{2000};
};

class Symbolizer {
 public:
  explicit Symbolizer(SymbolizerOptions options = {});

  // Frames for one pc of process `pid` whose maps are `maps` (read by the
  // caller once per capture). Always at least one frame; `module` is set
  // whenever a mapping holds pc. `return_address`: pc is a return address
  // (every frame but the innermost after unwinding), so the call
  // instruction at pc-1 is what gets looked up.
  std::vector<SymbolFrame> symbolize(pid_t pid, const target::Maps& maps, uint64_t pc,
                                     bool return_address);

  // The module that maps pc in `pid`, loading it if needed.
  Result<ModuleInfo> module_info(pid_t pid, const target::Maps& maps, uint64_t pc);

  struct Stats {
    uint64_t modules_loaded = 0;  // ELF files parsed into a Module
    uint64_t cache_hits = 0;      // symbolize() calls served by an already loaded module
    uint64_t result_hits = 0;     // ... of which answered from a module's per-address cache
    uint64_t files_checked = 0;   // stat/open of a mapped file to learn or check its identity
    uint64_t load_failures = 0;   // mapped files that could not be read as ELF
  };
  Stats stats() const;

  // Drops what is remembered about `pid`'s mappings (the node exited).
  void forget_process(pid_t pid);

  // Gives back the memory of every module's DWARF (see Module::release_dwarf)
  // while keeping symbols and cached answers: for an idle agent (DESIGN.md
  // §4: under 20 MiB RSS) after a capture has been symbolized.
  void release_debug_info();

 private:
  // One mapped file as one process sees it.
  struct ViewKey {
    pid_t pid;
    uint64_t start, inode;
    std::string path;
    auto operator<=>(const ViewKey&) const = default;
  };
  struct View {
    std::shared_ptr<Module> module;  // null: the file could not be read
    std::chrono::steady_clock::time_point checked;
  };
  struct IdentityKey {
    uint64_t dev, inode, size;
    int64_t mtime_ns;
    auto operator<=>(const IdentityKey&) const = default;
  };

  std::shared_ptr<Module> module_for(pid_t pid, const target::Mapping& mapping, bool* loaded);
  std::shared_ptr<Module> resolve(pid_t pid, const target::Mapping& mapping,
                                  const std::string& path, bool* loaded);
  std::shared_ptr<Module> resolve_vdso(pid_t pid, const target::Mapping& mapping, bool* loaded);
  void sweep_locked(std::chrono::steady_clock::time_point now);

  SymbolizerOptions options_;
  ModuleOptions module_options_;

  mutable std::mutex mu_;  // guards the maps below
  std::map<ViewKey, View> views_;
  std::map<std::string, std::shared_ptr<Module>> by_build_id_;
  std::map<IdentityKey, std::shared_ptr<Module>> by_identity_;

  std::atomic<uint64_t> modules_loaded_{0}, cache_hits_{0}, result_hits_{0}, files_checked_{0},
      load_failures_{0};
};

}  // namespace sonde::symbolize
