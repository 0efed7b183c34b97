#include "target/node_facts.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <sstream>

#include "target/procfs.h"

namespace sonde::target {

MemoryInfo parse_statm(const std::string& text, long page) {
  std::istringstream in(text);
  uint64_t size = 0, resident = 0, shared = 0, txt = 0, lib = 0, data = 0, dt = 0;
  in >> size >> resident >> shared >> txt >> lib >> data >> dt;
  auto p = static_cast<uint64_t>(page);
  return MemoryInfo{resident * p, size * p, shared * p, txt * p, lib * p, data * p, dt * p};
}

Result<NodeFacts> read_node_facts(const NodeId& id) {
  auto st = read_stat(id.pid);
  if (!st) return std::unexpected(st.error());
  // The pid may have been recycled since we attached: then this is not the node.
  if (st->start_ticks != id.start_ticks)
    return fail(ErrorCode::no_node, "node pid " + std::to_string(id.pid) + " has exited (pid now reused)");
  NodeFacts f;
  f.pid = id.pid;
  if (auto args = read_cmdline(id.pid)) f.cmdline = *args;
  char buf[PATH_MAX];
  std::string link = "/proc/" + std::to_string(id.pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n > 0) f.exe.assign(buf, static_cast<size_t>(n));
  f.start_time = start_time_epoch(id);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  f.uptime = now > f.start_time ? now - f.start_time : 0;
  f.num_threads = st->num_threads;
  if (auto fds = count_fds(id.pid)) f.num_fds = *fds;
  double hz = double(clock_ticks_per_second());
  f.cpu_times = CpuTimes{double(st->utime_ticks) / hz, double(st->stime_ticks) / hz,
                         double(st->cutime_ticks) / hz, double(st->cstime_ticks) / hz,
                         double(st->blkio_ticks) / hz};
  auto statm = read_proc_file(id.pid, "statm");
  if (!statm) return std::unexpected(statm.error());
  f.memory_info = parse_statm(*statm, page_size());
  return f;
}

}  // namespace sonde::target
