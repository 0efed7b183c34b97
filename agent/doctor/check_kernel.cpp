// The kernel's knobs that decide whether ptrace and eBPF work for the agent.
#include <cerrno>
#include <cstring>

#include "doctor/checks.h"

namespace sonde::doctor {

Finding check_yama(const HostFacts& h) {
  Finding f{Level::ok, "yama ptrace_scope", "", ""};
  const bool cap = h.has(kCapSysPtrace);
  switch (h.yama_scope) {
    case -1:
      f.finding = "Yama is not enabled: the classic ptrace rules apply";
      break;
    case 0:
      f.finding = "0 (classic: same uid, or CAP_SYS_PTRACE)";
      break;
    case 1:
    case 2:
      f.finding = std::to_string(h.yama_scope) +
                  (h.yama_scope == 1 ? " (only a parent may attach, or CAP_SYS_PTRACE)" : " (CAP_SYS_PTRACE only)");
      if (!cap) {
        f.level = Level::fail;
        f.finding += ", and the agent lacks CAP_SYS_PTRACE";
        f.fix = "grant the agent CAP_SYS_PTRACE (run it as root, or setcap/AmbientCapabilities), or "
                "`sysctl kernel.yama.ptrace_scope=0`";
      } else {
        f.finding += "; the agent has CAP_SYS_PTRACE";
      }
      break;
    default:
      f.level = Level::fail;
      f.finding = std::to_string(h.yama_scope) + ": no process may attach to another, not even root";
      f.fix = "reboot (scope 3 cannot be lowered at run time) with kernel.yama.ptrace_scope=1 or less in "
              "/etc/sysctl.d/";
  }
  return f;
}

Finding check_perf_paranoid(const HostFacts& h) {
  Finding f{Level::ok, "perf_event_paranoid", std::to_string(h.perf_paranoid), ""};
  // The sampler opens one cpu-clock event per CPU for all processes, which
  // needs CAP_PERFMON (or CAP_SYS_ADMIN) unless paranoid is 0 or lower.
  if (h.has(kCapPerfmon) || h.has(kCapSysAdmin)) {
    f.finding += "; does not matter: the agent has CAP_PERFMON";
  } else if (h.perf_paranoid <= 0) {
    f.finding += ": system-wide perf events are allowed without CAP_PERFMON";
  } else {
    f.level = Level::warn;
    f.finding += ": per-CPU perf events need CAP_PERFMON, which the agent lacks; CPU profiles fall back to ptrace";
    f.fix = "grant the agent CAP_PERFMON (or `sysctl kernel.perf_event_paranoid=0`, system-wide)";
  }
  return f;
}

Finding check_btf(const HostFacts& h) {
  if (h.btf) return {Level::ok, "btf", "/sys/kernel/btf/vmlinux present (the eBPF sampler can load)", ""};
  return {Level::warn, "btf", "/sys/kernel/btf/vmlinux missing: the eBPF sampler cannot load; CPU profiles fall back "
                              "to ptrace",
          "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's, Ubuntu's and RHEL's are); in a container, "
          "/sys must be the host's sysfs (read-only is fine)"};
}

Finding check_bpf(const HostFacts& h) {
  Finding f{Level::ok, "bpf()", "", ""};
  if (h.bpf_load_errno == 0) {
    f.finding = "loaded and unloaded a trivial perf_event program";
    return f;
  }
  f.level = Level::warn;
  f.finding = std::string("loading a trivial perf_event program failed: ") + std::strerror(h.bpf_load_errno) +
              "; CPU profiles fall back to ptrace sampling";
  if (h.bpf_load_errno == EPERM || h.bpf_load_errno == EACCES)
    f.fix = "grant the agent CAP_BPF and CAP_PERFMON (or run it as root); a seccomp filter must allow bpf";
  else if (h.bpf_load_errno == ENOSYS)
    f.fix = "the kernel was built without CONFIG_BPF_SYSCALL, or a seccomp filter answers ENOSYS: allow bpf";
  else
    f.fix = "see dmesg; kernel.unprivileged_bpf_disabled is " + std::to_string(h.unprivileged_bpf);
  return f;
}

}  // namespace sonde::doctor
