#include "memory/thread_stacks.h"

#include <sstream>

#include "target/procfs.h"

namespace sonde::memory {

std::optional<uint64_t> sp_from_syscall_line(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  // "NR a1 .. a6 sp pc" in a call, "-1 sp pc" blocked outside one; "running".
  if (fields.size() < 3) return std::nullopt;
  const std::string& s = fields[fields.size() - 2];
  if (s.rfind("0x", 0) != 0) return std::nullopt;
  try {
    return std::stoull(s, nullptr, 16);
  } catch (...) {
    return std::nullopt;
  }
}

std::vector<ThreadSp> read_thread_sps(pid_t pid) {
  std::vector<ThreadSp> out;
  auto tids = target::list_tasks(pid);
  if (!tids) return out;
  for (pid_t tid : *tids) {
    ThreadSp t{tid, 0};
    if (auto text = target::read_task_file(pid, tid, "syscall"))
      if (auto sp = sp_from_syscall_line(*text)) t.sp = *sp;
    out.push_back(t);
  }
  return out;
}

}  // namespace sonde::memory
