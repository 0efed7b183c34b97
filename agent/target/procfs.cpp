#include "target/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sonde::target {

namespace {

// /proc files report size 0: read until EOF.
Result<std::string> slurp(const std::string& path, pid_t pid, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(proc_error(pid, what, errno));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return std::unexpected(proc_error(pid, what, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

Error proc_error(pid_t pid, const std::string& what, int err) {
  if (err == ENOENT || err == ESRCH)
    return Error{ErrorCode::no_node, "process " + std::to_string(pid) +
                                         " does not exist (it may have exited); check the pid"};
  if (err == EACCES || err == EPERM)
    return Error{ErrorCode::permission,
                 "cannot read " + what + " of pid " + std::to_string(pid) + ": " +
                     std::strerror(err) +
                     "; run as root or grant CAP_SYS_PTRACE (see `sonde doctor --pid " +
                     std::to_string(pid) + "`)"};
  return Error{ErrorCode::io, "cannot read " + what + " of pid " + std::to_string(pid) + ": " +
                                  std::strerror(err)};
}

Result<std::string> read_proc_file(pid_t pid, const std::string& name) {
  return slurp("/proc/" + std::to_string(pid) + "/" + name, pid, "/proc/" + std::to_string(pid) + "/" + name);
}

Result<std::string> read_task_file(pid_t pid, pid_t tid, const std::string& name) {
  std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/" + name;
  return slurp(path, pid, path);
}

std::string thread_name(pid_t pid, pid_t tid) {
  auto comm = read_task_file(pid, tid, "comm");
  if (!comm) return "";
  std::string s = std::move(*comm);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

Result<std::string> read_text_file(const std::string& path) {
  auto r = slurp(path, 0, path);
  if (!r) {
    return std::unexpected(Error{r.error().code == ErrorCode::no_node ? ErrorCode::not_found : r.error().code,
                                 "cannot read " + path + ": " + std::strerror(errno)});
  }
  return r;
}

ProcStat parse_stat(const std::string& text) {
  ProcStat s;
  // comm may hold spaces and parentheses: it ends at the last ')'.
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return s;
  s.pid = static_cast<pid_t>(std::strtol(text.c_str(), nullptr, 10));
  s.comm = text.substr(open + 1, close - open - 1);
  std::istringstream in(text.substr(close + 2));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  std::string tok;
  while (in >> tok) f.push_back(tok);
  auto num = [&](size_t field) -> uint64_t {
    size_t i = field - 3;
    return i < f.size() ? std::strtoull(f[i].c_str(), nullptr, 10) : 0;
  };
  if (!f.empty()) s.state = f[0][0];
  s.ppid = static_cast<pid_t>(num(4));
  s.utime_ticks = num(14);
  s.stime_ticks = num(15);
  s.cutime_ticks = num(16);
  s.cstime_ticks = num(17);
  s.num_threads = static_cast<int64_t>(num(20));
  s.start_ticks = num(22);
  s.vsize = num(23);
  s.rss_pages = num(24);
  s.blkio_ticks = num(42);
  return s;
}

Result<ProcStat> read_stat(pid_t pid) {
  auto text = read_proc_file(pid, "stat");
  if (!text) return std::unexpected(text.error());
  return parse_stat(*text);
}

Result<ProcStat> read_task_stat(pid_t pid, pid_t tid) {
  auto text = read_task_file(pid, tid, "stat");
  if (!text) return std::unexpected(text.error());
  return parse_stat(*text);
}

Result<std::vector<std::string>> read_cmdline(pid_t pid) {
  auto text = read_proc_file(pid, "cmdline");
  if (!text) return std::unexpected(text.error());
  std::vector<std::string> args;
  std::string cur;
  for (char c : *text) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) args.push_back(cur);
  // Programs that rewrite their title (redis, nginx) pad argv with NULs.
  while (!args.empty() && args.back().empty()) args.pop_back();
  return args;
}

namespace {
std::vector<pid_t> numeric_entries(const std::string& dir, int* err) {
  std::vector<pid_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (err) *err = errno;
    return out;
  }
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end && *end == '\0' && v > 0) out.push_back(static_cast<pid_t>(v));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

Result<std::vector<pid_t>> list_tasks(pid_t pid) {
  int err = 0;
  auto tids = numeric_entries("/proc/" + std::to_string(pid) + "/task", &err);
  if (err) return std::unexpected(proc_error(pid, "thread list", err));
  return tids;
}

std::vector<pid_t> list_pids() { return numeric_entries("/proc", nullptr); }

Result<int64_t> count_fds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return std::unexpected(proc_error(pid, "fd table", errno));
  int64_t n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

long clock_ticks_per_second() {
  static const long v = ::sysconf(_SC_CLK_TCK);
  return v;
}

long page_size() {
  static const long v = ::sysconf(_SC_PAGESIZE);
  return v;
}

double boot_time_epoch() {
  // /proc/stat's btime is whole seconds; the difference of the two clocks is
  // precise to microseconds, which a recycled-pid check needs.
  timespec real{}, boot{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  return double(real.tv_sec - boot.tv_sec) + double(real.tv_nsec - boot.tv_nsec) / 1e9;
}

}  // namespace sonde::target
