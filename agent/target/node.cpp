#include "target/node.h"

#include "target/procfs.h"

namespace sonde::target {

Result<NodeId> identify(pid_t pid) {
  if (pid <= 0) return fail(ErrorCode::bad_request, "pid must be a positive number, got " + std::to_string(pid));
  auto st = read_stat(pid);
  if (!st) return std::unexpected(st.error());
  // A zombie has exited: nothing left to debug.
  if (st->state == 'Z' || st->state == 'X')
    return fail(ErrorCode::no_node, "process " + std::to_string(pid) + " has exited (zombie)");
  return NodeId{pid, st->start_ticks};
}

bool still_alive(const NodeId& id) {
  auto now = identify(id.pid);
  return now && *now == id;
}

double start_time_epoch(const NodeId& id) {
  return boot_time_epoch() + double(id.start_ticks) / double(clock_ticks_per_second());
}

}  // namespace sonde::target
