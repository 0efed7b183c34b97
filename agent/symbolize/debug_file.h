// Finding a module's separate debug file (what Debian's -dbg/-dbgsym packages
// install), the way gdb and elfutils look for it:
//   1. <debugdir>/.build-id/xx/yyyy.debug          (by build-id)
//   2. <dir of module>/<debuglink>                   (.gnu_debuglink name)
//   3. <dir of module>/.debug/<debuglink>
//   4. <debugdir>/<dir of module>/<debuglink>
//   5. <debugdir>/<module path>[.debug]
// Each is tried under /proc/PID/root first (the node's own filesystem, so a
// node in a container finds its own -dbg files), then under the agent's root.
//
// A candidate counts only when it provably belongs to the module: its
// build-id equals the module's, or (module without build-id) the CRC32 of
// the .gnu_debuglink matches. A mismatching file is ignored: stale debug
// files give wrong names, which is worse than none.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "symbolize/elf_file.h"

namespace sonde::symbolize {

struct DebugFileQuery {
  pid_t pid = 0;                 // whose /proc/PID/root to search first; 0: agent's root only
  std::string module_path;       // as the node sees it
  const ElfFile* module = nullptr;  // the opened module (build-id, debuglink, identity)
};

// The default debug folders (["/usr/lib/debug"]).
std::vector<std::string> default_debug_dirs();

// The verified debug file, or not_found when there is none.
Result<std::unique_ptr<ElfFile>> find_debug_file(const DebugFileQuery& query,
                                                 const std::vector<std::string>& debug_dirs);

// CRC32 as .gnu_debuglink defines it (zlib's polynomial) over a whole file.
Result<uint32_t> file_crc32(int fd);

}  // namespace sonde::symbolize
