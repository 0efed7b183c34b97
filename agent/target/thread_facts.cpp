#include "target/thread_facts.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "target/procfs.h"

namespace sonde::target {

namespace {

// Which argument of a call says what it waits on.
enum class Arg { none, fd0, fd1, futex_op, nfds1, pid0 };

struct Call {
  long nr;
  const char* name;
  Arg arg;
};

// The calls a blocked thread is commonly in. Numbers come from
// <sys/syscall.h>, so the table is right on every architecture the agent is
// built for; calls an architecture lacks (aarch64 has no poll, select,
// epoll_wait, pause...) are left out by the #ifdefs.
const Call kCalls[] = {
    {SYS_futex, "futex", Arg::futex_op},
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait", Arg::fd0},
#endif
    {SYS_epoll_pwait, "epoll_pwait", Arg::fd0},
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_pwait2", Arg::fd0},
#endif
#ifdef SYS_poll
    {SYS_poll, "poll", Arg::nfds1},
#endif
    {SYS_ppoll, "ppoll", Arg::nfds1},
#ifdef SYS_select
    {SYS_select, "select", Arg::none},
#endif
    {SYS_pselect6, "pselect6", Arg::none},
    {SYS_read, "read", Arg::fd0},
    {SYS_write, "write", Arg::fd0},
    {SYS_readv, "readv", Arg::fd0},
    {SYS_writev, "writev", Arg::fd0},
    {SYS_pread64, "pread64", Arg::fd0},
    {SYS_pwrite64, "pwrite64", Arg::fd0},
    {SYS_preadv, "preadv", Arg::fd0},
    {SYS_preadv2, "preadv2", Arg::fd0},
    {SYS_recvfrom, "recvfrom", Arg::fd0},
    {SYS_recvmsg, "recvmsg", Arg::fd0},
    {SYS_recvmmsg, "recvmmsg", Arg::fd0},
    {SYS_sendto, "sendto", Arg::fd0},
    {SYS_sendmsg, "sendmsg", Arg::fd0},
    {SYS_sendmmsg, "sendmmsg", Arg::fd0},
#ifdef SYS_accept
    {SYS_accept, "accept", Arg::fd0},
#endif
    {SYS_accept4, "accept4", Arg::fd0},
    {SYS_connect, "connect", Arg::fd0},
#ifdef SYS_sendfile
    {SYS_sendfile, "sendfile", Arg::fd1},
#endif
    {SYS_splice, "splice", Arg::fd0},
    {SYS_ioctl, "ioctl", Arg::fd0},
    {SYS_flock, "flock", Arg::fd0},
    {SYS_fcntl, "fcntl", Arg::fd0},
    {SYS_fsync, "fsync", Arg::fd0},
    {SYS_fdatasync, "fdatasync", Arg::fd0},
    {SYS_io_uring_enter, "io_uring_enter", Arg::fd0},
    {SYS_io_getevents, "io_getevents", Arg::none},
    {SYS_nanosleep, "nanosleep", Arg::none},
    {SYS_clock_nanosleep, "clock_nanosleep", Arg::none},
    {SYS_wait4, "wait4", Arg::pid0},
    {SYS_waitid, "waitid", Arg::none},
#ifdef SYS_pause
    {SYS_pause, "pause", Arg::none},
#endif
    {SYS_rt_sigsuspend, "rt_sigsuspend", Arg::none},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", Arg::none},
    {SYS_msgrcv, "msgrcv", Arg::none},
    {SYS_semtimedop, "semtimedop", Arg::none},
#ifdef SYS_semop
    {SYS_semop, "semop", Arg::none},
#endif
    {SYS_openat, "openat", Arg::none},
#ifdef SYS_open
    {SYS_open, "open", Arg::none},
#endif
    {SYS_exit_group, "exit_group", Arg::none},
    {SYS_sched_yield, "sched_yield", Arg::none},
};

const Call* find_call(long nr) {
  for (const auto& c : kCalls)
    if (c.nr == nr) return &c;
  return nullptr;
}

// futex(2) op names for the waiting operations (FUTEX_PRIVATE_FLAG and
// FUTEX_CLOCK_REALTIME masked off).
std::string futex_wait(uint64_t op) {
  switch (op & 0x7f) {
    case 0:   // FUTEX_WAIT
    case 9:   // FUTEX_WAIT_BITSET
    case 11:  // FUTEX_WAIT_REQUEUE_PI
      return "futex wait";
    case 6:   // FUTEX_LOCK_PI
    case 13:  // FUTEX_LOCK_PI2
      return "futex lock_pi";
    default:
      return "futex";
  }
}

// When /proc/.../syscall is not readable (no ptrace access), the kernel
// function a thread sleeps in still tells the common cases.
std::string wait_from_wchan(const std::string& wchan) {
  static const std::pair<const char*, const char*> kPrefixes[] = {
      {"futex", "futex wait"},             {"do_epoll_wait", "epoll_wait"},
      {"ep_poll", "epoll_wait"},          {"do_sys_poll", "poll"},
      {"do_poll", "poll"},                {"do_select", "select"},
      {"core_sys_select", "select"},      {"hrtimer_nanosleep", "nanosleep"},
      {"do_nanosleep", "nanosleep"},      {"pipe_read", "read on a pipe"},
      {"pipe_wait", "read on a pipe"},    {"do_wait", "wait4"},
      {"sigsuspend", "rt_sigsuspend"},    {"do_sigtimedwait", "rt_sigtimedwait"},
      {"sk_wait_data", "socket read"},    {"unix_stream_read", "socket read"},
      {"inet_csk_accept", "accept"},      {"io_schedule", "disk I/O"},
      {"anon_pipe_read", "read on a pipe"}, {"__do_sys_pause", "pause"},
  };
  for (const auto& [prefix, wait] : kPrefixes)
    if (wchan.rfind(prefix, 0) == 0) return wait;
  return "";
}

std::string fd_description(const char* name, long fd, const std::function<std::string(long)>& fd_target) {
  std::string out = std::string(name) + " on fd " + std::to_string(fd);
  std::string target = fd_target ? fd_target(fd) : std::string();
  if (!target.empty()) out += " (" + target + ")";
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// readlink /proc/PID/fd/N: "pipe:[1234]", "socket:[99]", "anon_inode:[eventpoll]", a path.
std::string readlink_fd(pid_t pid, long fd) {
  std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  char buf[4096];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::vector<std::string> parse_kernel_stack(const std::string& text) {
  std::vector<std::string> frames;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // "[<0>] do_syscall_64+0x5c/0xa0": the address is hidden (0) unless
    // kptr_restrict allows it; the symbol is what tells.
    auto close = line.find("] ");
    std::string frame = close == std::string::npos ? line : line.substr(close + 2);
    if (!frame.empty()) frames.push_back(frame);
  }
  return frames;
}

}  // namespace

std::string state_name(char state) {
  switch (state) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "disk sleep";
    case 'T': return "stopped";
    case 't': return "tracing stop";
    case 'Z': return "zombie";
    case 'X': return "dead";
    case 'I': return "idle";
    case 'P': return "parked";
    case 'W': return "waking";
    case 'K': return "wakekill";
    default: return "unknown";
  }
}

std::string syscall_name(long nr) {
  const Call* c = find_call(nr);
  return c ? c->name : "";
}

SyscallWait decode_syscall(const std::string& text, const std::function<std::string(long fd)>& fd_target) {
  SyscallWait out;
  std::string line = trim(text);
  if (line.rfind("running", 0) == 0) {
    out.wait = "running";
    return out;
  }
  std::istringstream in(line);
  std::string first;
  if (!(in >> first)) return out;
  char* end = nullptr;
  long nr = std::strtol(first.c_str(), &end, 10);
  if (end == first.c_str() || nr < 0) return out;  // "-1 sp pc": not in a system call
  uint64_t args[6] = {};
  std::string word;
  for (int i = 0; i < 6 && (in >> word); ++i) args[i] = std::strtoull(word.c_str(), nullptr, 0);

  out.nr = nr;
  const Call* call = find_call(nr);
  if (call == nullptr) {
    out.wait = "syscall " + std::to_string(nr);
    return out;
  }
  out.name = call->name;
  switch (call->arg) {
    case Arg::none: out.wait = call->name; break;
    case Arg::fd0: out.wait = fd_description(call->name, static_cast<int>(args[0]), fd_target); break;
    case Arg::fd1: out.wait = fd_description(call->name, static_cast<int>(args[1]), fd_target); break;
    case Arg::futex_op: out.wait = futex_wait(args[1]); break;
    case Arg::nfds1: out.wait = std::string(call->name) + " on " + std::to_string(args[1]) + " fds"; break;
    case Arg::pid0: {
      int pid = static_cast<int>(args[0]);
      out.wait = std::string(call->name) + (pid > 0 ? " for pid " + std::to_string(pid) : " for a child");
      break;
    }
  }
  return out;
}

Result<ThreadFacts> read_thread_facts(pid_t pid, pid_t tid) {
  auto stat = read_task_stat(pid, tid);
  if (!stat) return std::unexpected(stat.error());
  ThreadFacts f;
  f.tid = tid;
  auto comm = read_task_file(pid, tid, "comm");
  f.name = comm ? trim(*comm) : stat->comm;
  f.state = stat->state;
  f.state_name = state_name(f.state);
  const double hz = static_cast<double>(clock_ticks_per_second());
  f.cpu_user_s = static_cast<double>(stat->utime_ticks) / hz;
  f.cpu_system_s = static_cast<double>(stat->stime_ticks) / hz;

  if (auto wchan = read_task_file(pid, tid, "wchan"); wchan && trim(*wchan) != "0")
    f.wchan = trim(*wchan);
  // Readable with ptrace access to the node (root or CAP_SYS_PTRACE).
  if (auto text = read_task_file(pid, tid, "syscall")) {
    auto decoded = decode_syscall(*text, [pid](long fd) { return readlink_fd(pid, fd); });
    f.syscall_nr = decoded.nr;
    f.syscall_name = decoded.name;
    f.wait = decoded.wait;
  }
  if (f.wait.empty()) {
    switch (f.state) {
      case 'R': f.wait = "running"; break;
      case 'T': f.wait = "stopped"; break;
      case 't': f.wait = "stopped by a debugger"; break;
      case 'Z': f.wait = "zombie"; break;
      default: f.wait = wait_from_wchan(f.wchan); break;
    }
  }
  if (auto stack = read_task_file(pid, tid, "stack")) f.kernel_stack = parse_kernel_stack(*stack);
  return f;
}

}  // namespace sonde::target
