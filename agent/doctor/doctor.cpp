#include "doctor/doctor.h"

#include "doctor/checks.h"

namespace sonde::doctor {

Report judge(const HostFacts& h, const NodeFacts& n) {
  Report r;
  r.pid = n.pid;
  // Agent, kernel, node, debug info, then the plan: the order an operator
  // fixes things in.
  r.findings = {
      check_capabilities(h), check_seccomp(h),
      check_yama(h),         check_perf_paranoid(h),
      check_btf(h),          check_bpf(h),
      check_node_exists(n),  check_ptrace_permission(h, n),
      check_tracer(n),       check_pid_namespace(n),
      check_mount_namespace(n),
      check_exe_debug(n),    check_libc_debug(n),
      check_sampler(h),      check_allocator(n),
  };
  r.sampler = ebpf_usable(h) ? "ebpf" : "ptrace";
  r.allocator_methods = allocator_methods(n);
  return r;
}

Report run_doctor(pid_t pid) { return judge(read_host_facts(), read_node_facts(pid)); }

}  // namespace sonde::doctor
