#include "capture/ptrace_capture.h"

#include <unistd.h>

#include <exception>
#include <string>
#include <thread>

#include "capture/thread_state.h"
#include "capture/tracee.h"
#include "target/maps.h"
#include "target/procfs.h"

namespace sonde::capture {

namespace {

// Refused for one thread means refused for all: no privilege, or another
// tracer (a debugger) holds the node.
bool is_whole_failure(const Error& e) {
  return e.code == ErrorCode::permission || e.code == ErrorCode::conflict;
}

// A thread without a snapshot; no_node means it exited (skipped, "vanished").
ThreadResult failed(pid_t tid, const Error& e) {
  return ThreadResult{tid, e.code == ErrorCode::no_node, std::unexpected(e)};
}

// Per-thread mode: stop, read, let go, one thread after the other. The copy
// goes to a scratch buffer that stays warm across threads so that nothing is
// allocated or zeroed while a thread is stopped.
Result<std::vector<ThreadResult>> capture_one_by_one(pid_t pid, const std::vector<pid_t>& tids,
                                                     target::Maps& maps, const CaptureOptions& o) {
  std::vector<ThreadResult> out;
  out.reserve(tids.size());
  std::vector<uint8_t> scratch(o.max_stack_bytes);
  for (pid_t tid : tids) {
    Tracee t(tid);
    if (auto s = t.seize_and_interrupt(); !s) {
      if (is_whole_failure(s.error())) return std::unexpected(s.error());
      out.push_back(failed(tid, s.error()));
      continue;
    }
    if (auto w = t.wait_stop(o.stop_timeout); !w) {
      out.push_back(failed(tid, w.error()));
      continue;  // ~Tracee releases (or leaves it to the thread's exit)
    }
    Snapshot snap;
    snap.pid = pid;
    snap.tid = tid;
    auto regs = read_registers(tid, snap);
    Result<size_t> copied = size_t{0};
    if (regs) {
      uint64_t len = stack_extent(pid, maps, snap.regs.sp(), o.max_stack_bytes);
      copied = copy_stack(tid, snap.regs.sp(), len, scratch.data());
      if (copied && o.while_stopped) o.while_stopped(tid);
    }
    t.release();
    if (!regs) {
      out.push_back(failed(tid, regs.error()));
      continue;
    }
    if (!copied) {
      out.push_back(failed(tid, copied.error()));
      continue;
    }
    snap.stopped_ns = t.detached_ns() - t.stop_observed_ns();
    snap.stack_start = snap.regs.sp();
    snap.stack.assign(scratch.begin(), scratch.begin() + static_cast<long>(*copied));
    out.push_back(ThreadResult{tid, false, std::move(snap)});
  }
  return out;
}

// Consistent mode: every thread is stopped before the first copy and let go
// after the last one.
Result<std::vector<ThreadResult>> capture_all_at_once(pid_t pid, const std::vector<pid_t>& tids,
                                                      target::Maps& maps, const CaptureOptions& o) {
  std::vector<Tracee> tracees;
  tracees.reserve(tids.size());
  std::vector<ThreadResult> out(tids.size());
  std::vector<bool> ok(tids.size(), false);
  for (size_t i = 0; i < tids.size(); ++i) {
    out[i].tid = tids[i];
    tracees.emplace_back(tids[i]);
    if (auto s = tracees.back().seize_and_interrupt(); !s) {
      // Returning here releases every tracee seized so far.
      if (is_whole_failure(s.error())) return std::unexpected(s.error());
      out[i] = failed(tids[i], s.error());
      continue;
    }
    ok[i] = true;
  }
  for (size_t i = 0; i < tids.size(); ++i) {
    if (!ok[i]) continue;
    if (auto w = tracees[i].wait_stop(o.stop_timeout); !w) {
      // Released last (below): its release retries the stop, and the
      // others must not stay stopped meanwhile.
      out[i] = failed(tids[i], w.error());
      ok[i] = false;
    }
  }
  for (size_t i = 0; i < tids.size(); ++i) {
    if (!ok[i]) continue;
    Snapshot snap;
    snap.pid = pid;
    snap.tid = tids[i];
    if (auto r = read_registers(tids[i], snap); !r) {
      out[i] = failed(tids[i], r.error());
      ok[i] = false;
      continue;
    }
    uint64_t len = stack_extent(pid, maps, snap.regs.sp(), o.max_stack_bytes);
    snap.stack.resize(len);
    auto copied = copy_stack(tids[i], snap.regs.sp(), len, snap.stack.data());
    if (!copied) {
      out[i] = failed(tids[i], copied.error());
      ok[i] = false;
      continue;
    }
    snap.stack.resize(*copied);
    snap.stack_start = snap.regs.sp();
    if (o.while_stopped) o.while_stopped(tids[i]);
    out[i].snapshot = std::move(snap);
  }
  for (auto& t : tracees)
    if (t.state() == Tracee::State::stopped) t.release();
  for (auto& t : tracees) t.release();  // the ones that never stopped
  for (size_t i = 0; i < tids.size(); ++i)
    if (ok[i]) out[i].snapshot->stopped_ns = tracees[i].detached_ns() - tracees[i].stop_observed_ns();
  return out;
}

}  // namespace

Result<std::vector<ThreadResult>> capture_process(pid_t pid, const CaptureOptions& options) {
  if (pid <= 0) return fail(ErrorCode::bad_request, "invalid pid " + std::to_string(pid));
  if (pid == ::getpid())
    return fail(ErrorCode::bad_request, "pid " + std::to_string(pid) + " is the agent itself; pick the node's pid");
  // Read before anything is stopped: the maps find each thread's stack.
  auto maps = target::read_maps(pid);
  if (!maps) return std::unexpected(maps.error());
  auto tids = options.tids.empty() ? target::list_tasks(pid) : Result<std::vector<pid_t>>(options.tids);
  if (!tids) return std::unexpected(tids.error());

  // A thread of our own for every ptrace call of this capture; when it ends,
  // the kernel detaches anything still attached to it (tracee.h).
  Result<std::vector<ThreadResult>> result = fail(ErrorCode::internal, "capture did not run");
  std::thread worker([&] {
    try {
      result = options.consistent ? capture_all_at_once(pid, *tids, *maps, options)
                                  : capture_one_by_one(pid, *tids, *maps, options);
    } catch (const std::exception& e) {
      result = fail(ErrorCode::internal, std::string("capture failed: ") + e.what());
    }
  });
  worker.join();
  if (result && !result->empty()) {
    bool all_vanished = true;
    for (auto& t : *result) all_vanished = all_vanished && t.vanished;
    // Every thread gone: the process itself exited under us.
    if (all_vanished && !target::read_stat(pid))
      return fail(ErrorCode::no_node, "process " + std::to_string(pid) + " exited during capture");
  }
  return result;
}

}  // namespace sonde::capture
