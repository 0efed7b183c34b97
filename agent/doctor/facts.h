// What the doctor knows about the agent, the kernel and the node, gathered
// once (facts.cpp, node_facts.cpp) and judged by pure functions (checks.h),
// so each judgement is unit-tested with made-up facts.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sonde::doctor {

// Capability numbers (linux/capability.h), as bits of CapEff.
inline constexpr int kCapDacReadSearch = 2;
inline constexpr int kCapSysPtrace = 19;
inline constexpr int kCapSysAdmin = 21;
inline constexpr int kCapPerfmon = 38;
inline constexpr int kCapBpf = 39;

struct HostFacts {
  uid_t uid = 0;               // the agent's real uid
  uint64_t cap_eff = 0;        // /proc/self/status CapEff
  int seccomp = 0;             // /proc/self/status Seccomp: 0 off, 1 strict, 2 filter
  int yama_scope = -1;         // kernel.yama.ptrace_scope; -1: no Yama
  int perf_paranoid = 2;       // kernel.perf_event_paranoid
  int unprivileged_bpf = -1;   // kernel.unprivileged_bpf_disabled; -1 unknown
  bool btf = false;            // /sys/kernel/btf/vmlinux readable
  int bpf_load_errno = 0;      // loading a trivial perf_event program: 0 worked, else errno

  bool has(int cap) const { return (cap_eff >> cap) & 1; }
};

// One module of the node (its executable, its libc) and its debug info.
struct ModuleDebug {
  std::string path;        // as the node sees it; "" when the node has no such module
  std::string build_id;    // hex; "" when the file has none
  std::string error;       // why the file could not be read
  bool has_symtab = false;        // the module itself keeps .symtab
  bool has_dwarf = false;         // the module itself keeps DWARF
  std::string debug_file;         // a verified separate debug file ("" when none)
  bool debug_file_dwarf = false;  // that file holds DWARF
};

struct NodeFacts {
  pid_t pid = 0;
  bool exists = false;
  uid_t uid = 0;                 // the node's real uid (/proc/N/status Uid)
  pid_t tracer = 0;              // TracerPid: a debugger already holds it
  pid_t ns_pid = 0;              // the node's pid in its own pid namespace (last NSpid)
  int ns_errno = 0;              // reading /proc/N/ns/* failed with this
  bool same_pid_ns = true, same_mnt_ns = true;
  bool root_visible = true;      // /proc/N/root/ can be listed
  int mem_errno = 0;             // opening /proc/N/mem (the ptrace-attach permission check)
  bool maps_readable = false;    // /proc/N/maps (needed for libc and the allocator)
  std::string allocator = "glibc";  // memory::guess_allocator
  ModuleDebug exe, libc;
};

// Gathers the facts. Nothing here stops, signals or writes to the node:
// permission to attach is tested by opening /proc/N/mem, which the kernel
// grants by the same rule as PTRACE_ATTACH (ptrace_may_access, Yama included).
HostFacts read_host_facts();
NodeFacts read_node_facts(pid_t pid);

// "CapEff:\t000001ffffffffff" and the like from /proc/self/status text.
uint64_t status_hex_field(const std::string& status, const char* name);
long status_int_field(const std::string& status, const char* name, long missing);

}  // namespace sonde::doctor
