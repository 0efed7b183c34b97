// Reading the node's /proc files. Every reader returns a value or an Error
// that names the pid and what to do; none of them touch the node.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::target {

// /proc/PID/<name> (or /proc/PID/task/TID/<name> via read_task_file) whole.
Result<std::string> read_proc_file(pid_t pid, const std::string& name);
Result<std::string> read_task_file(pid_t pid, pid_t tid, const std::string& name);
Result<std::string> read_text_file(const std::string& path);
// A thread's name (its comm, without the newline); "" when it cannot be read.
std::string thread_name(pid_t pid, pid_t tid);

// The fields of /proc/PID/stat we use (man 5 proc), in kernel units.
struct ProcStat {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  pid_t ppid = 0;
  uint64_t utime_ticks = 0, stime_ticks = 0, cutime_ticks = 0, cstime_ticks = 0;
  int64_t num_threads = 0;
  uint64_t start_ticks = 0;  // since boot: with the pid, the identity of a process
  uint64_t vsize = 0;
  uint64_t rss_pages = 0;
  uint64_t blkio_ticks = 0;
};

ProcStat parse_stat(const std::string& text);
Result<ProcStat> read_stat(pid_t pid);
Result<ProcStat> read_task_stat(pid_t pid, pid_t tid);

// /proc/PID/cmdline split on NULs.
Result<std::vector<std::string>> read_cmdline(pid_t pid);
// Thread ids in /proc/PID/task, sorted.
Result<std::vector<pid_t>> list_tasks(pid_t pid);
// All pids in /proc, sorted.
std::vector<pid_t> list_pids();
// Number of open file descriptors of the node.
Result<int64_t> count_fds(pid_t pid);

// System constants read once.
long clock_ticks_per_second();
long page_size();
// Boot time in seconds since the epoch, sub-second precise.
double boot_time_epoch();

// The error for an errno from opening a /proc file of pid, with the fix.
Error proc_error(pid_t pid, const std::string& what, int err);

}  // namespace sonde::target
