// What the agent will use for this node, given the facts: the CPU sampler
// (eBPF, else ptrace sampling) and the allocator methods of the heap report.
#include "doctor/checks.h"

namespace sonde::doctor {

bool ebpf_usable(const HostFacts& h) {
  // Loading a perf_event program already proved CAP_BPF + CAP_PERFMON (or
  // CAP_SYS_ADMIN), which also allows the per-CPU perf events.
  return h.btf && h.bpf_load_errno == 0;
}

Finding check_sampler(const HostFacts& h) {
  if (ebpf_usable(h))
    return {Level::ok, "sampler", "ebpf (the node is never stopped to take a CPU sample)", ""};
  return {Level::warn, "sampler",
          "ptrace fallback: each CPU sample stops a thread for tens of microseconds",
          "fix the btf and bpf() lines above to sample by eBPF"};
}

std::vector<std::string> allocator_methods(const NodeFacts& n) {
  std::vector<std::string> m;
  bool libc_debug = (!n.libc.debug_file.empty() && n.libc.debug_file_dwarf) || (n.libc.has_symtab && n.libc.has_dwarf);
  if (n.allocator == "glibc" && libc_debug) m.push_back("glibc walk");
  m.push_back("procfs");
  return m;
}

Finding check_allocator(const NodeFacts& n) {
  Finding f{Level::ok, "allocator", "", ""};
  if (!n.exists) return {Level::ok, f.check, "unknown (no node)", ""};
  if (!n.maps_readable)
    return {Level::warn, f.check, "unknown: /proc/" + std::to_string(n.pid) + "/maps cannot be read",
            "see the ptrace permission line"};
  auto methods = allocator_methods(n);
  std::string list;
  for (const auto& m : methods) list += (list.empty() ? "" : " + ") + m;
  f.finding = n.allocator + " malloc: " + list;
  if (n.allocator == "glibc") {
    if (methods.size() == 1) {
      f.level = Level::warn;
      f.finding += " (no glibc walk: libc has no debug info)";
      f.fix = "see the debug info: libc line; or start the agent with --allow-inject for mallinfo2() run in the node";
    }
  } else if (n.allocator == "jemalloc") {
    f.level = Level::warn;
    f.finding += " (jemalloc's own statistics need an injected mallctl call)";
    f.fix = "start the agent with --allow-inject to get jemalloc's stats.allocated and per-arena tables";
  } else {
    f.level = Level::warn;
    f.finding += " (sonde does not read " + n.allocator + "'s structures)";
  }
  return f;
}

}  // namespace sonde::doctor
