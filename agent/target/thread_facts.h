// What a thread of the node is doing, as the kernel tells it without
// stopping anything: name, scheduler state, the system call it is blocked in
// (decoded, with what its fd argument points at), wchan, cpu times, and the
// kernel stack when readable. This is the "state"/"wait" of DESIGN.md §1.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::target {

struct ThreadFacts {
  pid_t tid = 0;
  std::string name;           // /proc/PID/task/TID/comm
  char state = '?';           // R, S, D, T, t, Z, X, I, ...
  std::string state_name;     // "running", "sleeping", "disk sleep", ...
  // What it waits on, for a person: "futex wait", "epoll_wait on fd 5
  // (anon_inode:[eventpoll])", "read on fd 3 (pipe:[1234])", "nanosleep",
  // "running". Empty when unknown (no access to /proc/.../syscall and an
  // unhelpful wchan); never guessed.
  std::string wait;
  long syscall_nr = -1;       // -1: not in a system call, or unknown
  std::string syscall_name;   // "read", "futex", ...; "" when not known
  std::string wchan;          // kernel function it sleeps in; "" when "0" or unreadable
  double cpu_user_s = 0, cpu_system_s = 0;
  std::vector<std::string> kernel_stack;  // "do_syscall_64+0x5c/0xa0", innermost first; root only
};

// Fails only when the thread cannot be found (exited) or its stat cannot be
// read; every other missing piece leaves its field empty.
Result<ThreadFacts> read_thread_facts(pid_t pid, pid_t tid);

// The pieces, for unit tests and for callers that already hold the texts.
std::string state_name(char state);
// Name of an x86_64/aarch64 system call number from a table of the ones a
// blocked thread is commonly in; "" for the rest.
std::string syscall_name(long nr);
// Decodes a /proc/.../syscall line ("202 0x7f.. 0x80 ...", "running",
// "-1 0x.. 0x..") into a wait description. `fd_target` resolves an fd of the
// node to what it points at ("pipe:[1234]", "socket:[99]", a path), "" if unknown.
struct SyscallWait {
  long nr = -1;
  std::string name;
  std::string wait;
};
SyscallWait decode_syscall(const std::string& text,
                           const std::function<std::string(long fd)>& fd_target);

}  // namespace sonde::target
