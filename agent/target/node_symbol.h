// Where a function of the node is: its address in the node, from the symbol
// tables of the files the node maps (read through /proc/PID/root). Used by
// the injected call (remote_call.h) to find what it calls (mallctl,
// mallinfo2) and where the called function returns to (libc's signal-return
// trampoline).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "target/maps.h"

namespace sonde::target {

struct NodeSymbol {
  uint64_t address = 0;  // in the node
  std::string module;    // path as the node sees it
};

// The function `name` (exact, without symbol version) defined in a mapped
// file whose path contains `module_part` ("" = any file; the executable and
// libraries in map order). Looks in .dynsym, then .symtab. not_found says
// which files were searched.
Result<NodeSymbol> find_node_function(pid_t pid, const Maps& maps, const std::string& name,
                                      const std::string& module_part = "");

// libc's rt_sigreturn trampoline (`mov $15,%rax; syscall`, glibc's
// __restore_rt): its symbol when libc has a .symtab, else those 9 bytes found
// in an executable segment of libc (Debian's libc has no .symtab; the bytes
// are the whole contract, whatever the symbol is called).
Result<NodeSymbol> find_sigreturn_trampoline(pid_t pid, const Maps& maps);

}  // namespace sonde::target
