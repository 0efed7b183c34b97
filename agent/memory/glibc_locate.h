// Where glibc's malloc state lives in the node: libc's mapping, its build-id,
// its verified debug file (found by the symbolizer's own search: build-id,
// debuglink, /proc/PID/root first), the node addresses of main_arena, mp_
// and narenas (load bias + symbol value), the running version, and the
// struct layout from DWARF. Everything here reads files and /proc only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "memory/glibc_layout.h"
#include "target/maps.h"

namespace sonde::memory {

struct GlibcOptions {
  std::vector<std::string> debug_dirs = {"/usr/lib/debug"};
};

// Which allocator the node uses, as far as its mappings tell: a malloc
// replacement loaded as a library (jemalloc, tcmalloc, mimalloc) takes
// malloc over from glibc, whose arenas then stay nearly empty.
struct AllocatorGuess {
  std::string name;  // "glibc", "jemalloc", "tcmalloc", "mimalloc"
  std::string path;  // the library that provides it ("" for glibc)
};
AllocatorGuess guess_allocator(const target::Maps& maps);

struct GlibcTarget {
  std::string libc_path;      // as the node sees it
  std::string build_id;
  std::string debug_file;     // the file the symbols and DWARF came from
  std::string version;        // "2.36", read from the node's memory (__libc_version)
  uint64_t load_bias = 0;     // node address = bias + link-time address
  uint64_t main_arena = 0;    // node addresses
  uint64_t mp = 0;
  uint64_t narenas = 0;       // 0 when the symbol is not there
  bool safe_linking = false;  // glibc >= 2.32 mangles fastbin/tcache next pointers
  MallocLayout layout;
};

// The mapping of libc (lowest offset) in `maps`, or null (static binary,
// musl, no libc at all).
const target::Mapping* find_libc(const target::Maps& maps);

// The message for a libc without debug info: which package gives it.
std::string missing_debug_info_message(const std::string& libc_path, const std::string& build_id);

// Fails with not_found and missing_debug_info_message() when there is no
// debug info, with not_found when the node has no glibc.
Result<GlibcTarget> locate_glibc(pid_t pid, const target::Maps& maps, const GlibcOptions& options);

// "2.36" -> true when >= 2.32 (safe-linking). Unparsable: true (every
// supported distribution ships a newer glibc).
bool version_has_safe_linking(const std::string& version);

}  // namespace sonde::memory
