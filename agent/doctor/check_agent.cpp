// The agent's own privileges: what its effective capabilities allow, and
// whether a seccomp filter may refuse the system calls it needs.
#include "doctor/checks.h"

namespace sonde::doctor {

namespace {

struct CapUse {
  int cap;
  const char* name;
  const char* needed_for;
};

// What each capability is for, as the operator would ask "do I need it?".
const CapUse kCaps[] = {
    {kCapSysPtrace, "CAP_SYS_PTRACE", "stacks of a node of another user, or under Yama"},
    {kCapBpf, "CAP_BPF", "the eBPF CPU sampler"},
    {kCapPerfmon, "CAP_PERFMON", "the eBPF CPU sampler's perf events"},
    {kCapDacReadSearch, "CAP_DAC_READ_SEARCH", "reading a node's files that its user alone may read"},
};

}  // namespace

Finding check_capabilities(const HostFacts& h) {
  Finding f{Level::ok, "capabilities", "", ""};
  std::string have, missing;
  for (const auto& c : kCaps) {
    // CAP_SYS_ADMIN covers BPF and PERFMON on kernels older than 5.8 and
    // still does on newer ones.
    bool ok = h.has(c.cap) || ((c.cap == kCapBpf || c.cap == kCapPerfmon) && h.has(kCapSysAdmin));
    if (ok) {
      have += (have.empty() ? "" : " ") + std::string(c.name);
    } else {
      missing += (missing.empty() ? "" : "; ") + std::string(c.name) + " (" + c.needed_for + ")";
    }
  }
  if (missing.empty()) {
    f.finding = "effective " + have + (h.uid == 0 ? " (root)" : " (uid " + std::to_string(h.uid) + ")");
    return f;
  }
  // Only a warning: a node of the agent's own user needs none of them for
  // stacks; the ptrace-permission check below says whether this one does.
  f.level = Level::warn;
  f.finding = "uid " + std::to_string(h.uid) + " lacks " + missing + (have.empty() ? "" : "; has " + have);
  f.fix = std::string("the agent: ") + kGrantCaps;
  return f;
}

Finding check_seccomp(const HostFacts& h) {
  Finding f{Level::ok, "seccomp", "", ""};
  if (h.seccomp == 0) {
    f.finding = "off for the agent";
  } else if (h.seccomp == 1) {
    f.level = Level::fail;
    f.finding = "strict mode: only read, write, exit and sigreturn are allowed";
    f.fix = "run the agent without SECCOMP_MODE_STRICT";
  } else {
    f.level = Level::warn;
    f.finding = "a filter is active; it may refuse ptrace, process_vm_readv, bpf or perf_event_open (the bpf() "
                "check below tried one of them)";
    f.fix = "allow them: systemd `SystemCallFilter=@system-service ptrace bpf perf_event_open process_vm_readv`; "
            "Docker/Kubernetes: the default profile allows ptrace with CAP_SYS_PTRACE on kernels >= 4.8, bpf and "
            "perf_event_open need `--security-opt seccomp=unconfined` or a profile that lists them";
  }
  return f;
}

}  // namespace sonde::doctor
