#include "capture/ptrace_errors.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "target/procfs.h"

namespace sonde::capture {

int yama_ptrace_scope() {
  auto text = target::read_text_file("/proc/sys/kernel/yama/ptrace_scope");
  if (!text || text->empty()) return -1;
  return std::atoi(text->c_str());
}

Error attach_error(pid_t tid, int err) {
  std::string who = "thread " + std::to_string(tid);
  if (err == ESRCH)
    return Error{ErrorCode::no_node, who + " does not exist (it may have exited)"};
  if (err == EPERM || err == EACCES) {
    // The kernel also answers EPERM for a thread that is exiting, and for
    // one that another tracer (gdb, strace) holds: tell those apart.
    auto status = target::read_text_file("/proc/" + std::to_string(tid) + "/status");
    if (!status) return Error{ErrorCode::no_node, who + " exited during capture"};
    auto field = [&](const char* name) -> std::string {
      auto at = status->find(name);
      if (at == std::string::npos) return "";
      at += std::strlen(name);
      auto end = status->find('\n', at);
      return status->substr(at, end == std::string::npos ? std::string::npos : end - at);
    };
    std::string state = field("State:\t");
    if (!state.empty() && (state[0] == 'Z' || state[0] == 'X'))
      return Error{ErrorCode::no_node, who + " exited during capture"};
    std::string tracer = field("TracerPid:\t");
    if (!tracer.empty() && tracer != "0")
      return Error{ErrorCode::conflict, "cannot attach to " + who + ": it is already traced by pid " + tracer +
                                            " (a debugger or strace?); detach that first"};
    std::string msg = "cannot attach to " + who + ": operation not permitted; run as root or grant CAP_SYS_PTRACE";
    int scope = yama_ptrace_scope();
    if (scope > 0)
      msg += "; /proc/sys/kernel/yama/ptrace_scope is " + std::to_string(scope) +
             (scope >= 3 ? " (3 forbids all attaching until reboot)"
                         : " (set it to 0, or give the agent CAP_SYS_PTRACE)");
    msg += "; `sonde doctor --pid " + std::to_string(tid) + "` lists what is missing";
    return Error{ErrorCode::permission, msg};
  }
  return Error{ErrorCode::internal, "cannot attach to " + who + ": " + std::strerror(err)};
}

}  // namespace sonde::capture
