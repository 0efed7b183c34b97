// The node: does it exist, may the agent attach to it, is a debugger already
// there, and which namespaces separate the two. Never stops the node.
#include <cstring>

#include "doctor/checks.h"

namespace sonde::doctor {

Finding check_node_exists(const NodeFacts& n) {
  std::string pid = std::to_string(n.pid);
  if (n.exists) return {Level::ok, "node", "pid " + pid + " exists (uid " + std::to_string(n.uid) + ")", ""};
  return {Level::fail, "node", "no process " + pid + " in the agent's pid namespace",
          "check the pid (`pgrep -f NAME`); in a container the agent must share the node's pid namespace "
          "(compose: pid: \"service:node\"; Kubernetes: shareProcessNamespace: true)"};
}

Finding check_ptrace_permission(const HostFacts& h, const NodeFacts& n) {
  Finding f{Level::ok, "ptrace permission", "", ""};
  if (!n.exists) {
    f.level = Level::fail;
    f.finding = "no node to attach to";
    f.fix = "see the node line";
    return f;
  }
  if (n.mem_errno == 0) {
    f.finding = "the kernel allows attaching to pid " + std::to_string(n.pid) +
                " (checked by opening /proc/" + std::to_string(n.pid) + "/mem; the node was not stopped)";
    return f;
  }
  f.level = Level::fail;
  f.finding = "the kernel refuses to let the agent attach to pid " + std::to_string(n.pid) + " (" +
              std::strerror(n.mem_errno) + "): ";
  if (h.yama_scope >= 3) {
    f.finding += "yama ptrace_scope is 3";
    f.fix = "reboot with kernel.yama.ptrace_scope=1 or less";
  } else if (!h.has(kCapSysPtrace) && h.uid != n.uid) {
    f.finding += "the node runs as uid " + std::to_string(n.uid) + ", the agent as uid " + std::to_string(h.uid) +
                 " without CAP_SYS_PTRACE";
    f.fix = std::string("run the agent as the node's user, or ") + kGrantCaps;
  } else if (!h.has(kCapSysPtrace) && h.yama_scope >= 1) {
    f.finding += "yama ptrace_scope " + std::to_string(h.yama_scope) + " and no CAP_SYS_PTRACE";
    f.fix = "grant the agent CAP_SYS_PTRACE, or `sysctl kernel.yama.ptrace_scope=0`";
  } else if (!h.has(kCapSysPtrace)) {
    f.finding += "the node is not dumpable (setuid, or prctl(PR_SET_DUMPABLE, 0)) or holds capabilities the "
                 "agent lacks";
    f.fix = std::string("grant the agent CAP_SYS_PTRACE: ") + kGrantCaps;
  } else {
    f.finding += "a security module (AppArmor, SELinux) or the node's user namespace refuses it";
    f.fix = "check `dmesg` for an apparmor/avc denial and allow ptrace (read, trace) for the agent";
  }
  return f;
}

Finding check_tracer(const NodeFacts& n) {
  if (!n.exists || n.tracer == 0) return {Level::ok, "debugger", "no tracer holds the node", ""};
  return {Level::warn, "debugger",
          "pid " + std::to_string(n.tracer) + " (gdb, strace?) traces the node: stack dumps answer 409 until it "
          "detaches",
          "detach that debugger (gdb: `detach`), or wait for it"};
}

Finding check_pid_namespace(const NodeFacts& n) {
  if (!n.exists) return {Level::ok, "pid namespace", "unknown (no node)", ""};
  if (n.ns_errno != 0)
    return {Level::warn, "pid namespace", "cannot read /proc/" + std::to_string(n.pid) + "/ns: " + std::strerror(n.ns_errno),
            "the ptrace permission line says what to grant"};
  if (n.same_pid_ns) return {Level::ok, "pid namespace", "same as the agent's", ""};
  return {Level::ok, "pid namespace",
          "different pid namespace (the agent sees pid " + std::to_string(n.pid) + ", the node itself " +
              std::to_string(n.ns_pid) + "): fine, the agent uses its own view",
          ""};
}

Finding check_mount_namespace(const NodeFacts& n) {
  if (!n.exists) return {Level::ok, "mount namespace", "unknown (no node)", ""};
  if (n.ns_errno != 0)
    return {Level::warn, "mount namespace", "cannot read /proc/" + std::to_string(n.pid) + "/ns: " + std::strerror(n.ns_errno),
            "the ptrace permission line says what to grant"};
  std::string root = "/proc/" + std::to_string(n.pid) + "/root";
  if (!n.root_visible)
    return {Level::warn, "mount namespace",
            std::string(n.same_mnt_ns ? "same" : "different") + " mount namespace, but " + root +
                " cannot be read: the node's files (symbols, debug info) are out of reach",
            std::string("the agent: ") + kGrantCaps};
  if (n.same_mnt_ns) return {Level::ok, "mount namespace", "same as the agent's", ""};
  return {Level::ok, "mount namespace",
          "different mount namespace (a container?): the node's files are read through " + root, ""};
}

}  // namespace sonde::doctor
