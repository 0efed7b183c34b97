#include "aggregate/stack_dumper.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "aggregate/python_session.h"
#include "capture/ptrace_capture.h"
#include "python/py_merge.h"
#include "python/py_threads.h"
#include "protocol/iso_time.h"
#include "target/maps.h"
#include "target/procfs.h"
#include "target/thread_facts.h"

namespace sonde::aggregate {

StackDumper::StackDumper(symbolize::SymbolizerOptions symbols) : symbolizer_(std::move(symbols)) {}
StackDumper::~StackDumper() = default;

Result<StackDump> StackDumper::dump(pid_t pid, const DumpOptions& options) {
  std::lock_guard lock(mu_);
  auto started = std::chrono::steady_clock::now();
  StackDump out;
  out.pid = pid;
  out.captured_at = protocol::iso_utc(protocol::now_epoch());
  out.mode = options.consistent ? "consistent" : "per-thread";
  if (auto args = target::read_cmdline(pid)) out.cmdline = *args;

  // Thread facts first: what each thread waits on as it runs, not as we stop it.
  std::map<pid_t, target::ThreadFacts> facts;
  if (auto tids = target::list_tasks(pid)) {
    for (pid_t tid : *tids)
      if (auto f = target::read_thread_facts(pid, tid)) facts[tid] = std::move(*f);
  } else {
    return std::unexpected(tids.error());
  }

  capture::CaptureOptions copts;
  copts.consistent = options.consistent;
  copts.max_stack_bytes = options.max_stack_bytes;

  // A CPython node: its thread states by OS tid, and each one's frame chain
  // read while its thread is stopped for the copy (the same instant).
  PythonSession* py = nullptr;
  std::map<pid_t, python::PyThread> py_threads;
  std::map<pid_t, python::RawStack> py_raw;
  std::unordered_map<pid_t, std::string> py_names;
  if (!options.native_only) {
    auto before = target::read_maps(pid);
    if (!before) return std::unexpected(before.error());
    auto session = python_session(python_, pid, *before);
    if (session) {
      py = *session;
      py->code.new_pass();
      out.python_version = py->rt.version;
      auto threads = python::read_threads(py->mem, py->rt);
      if (!threads) {
        // The interpreter moved (restart under the same pid?): locate it once more.
        python_.reset();
        session = python_session(python_, pid, *before);
        py = session ? *session : nullptr;
        if (py) threads = python::read_threads(py->mem, py->rt);
      }
      if (threads) {
        for (const auto& t : *threads)
          if (t.native_tid > 0) py_threads[t.native_tid] = t;
        py_names = py->names.read(py->mem, py->rt, *threads);
      }
    }
    if (!session && session.error().code != ErrorCode::not_found) out.python_error = session.error().message;
    if (options.python_only && !py)
      return std::unexpected(session ? Error{ErrorCode::internal, "Python interpreter lost"} : session.error());
    if (py && !py_threads.empty())
      copts.while_stopped = [&](pid_t tid) {
        auto it = py_threads.find(tid);
        if (it != py_threads.end()) py_raw[tid] = python::read_raw_frames(py->mem, py->rt, it->second.tstate);
      };
  }
  auto captured = capture::capture_process(pid, copts);
  if (!captured) return std::unexpected(captured.error());
  // Maps after the capture: every thread's stack and code is mapped in them.
  auto maps = target::read_maps(pid);
  if (!maps) return std::unexpected(maps.error());
  if (auto exe = maps->mappings.empty() ? nullptr : &maps->mappings.front(); exe) out.exe = exe->path;

  unwind::ProcessView view(pid, *maps, modules_);
  for (auto& result : *captured) {
    if (result.vanished) continue;  // it exited: not part of the picture
    ThreadStack t;
    t.tid = result.tid;
    if (auto it = facts.find(result.tid); it != facts.end()) {
      const auto& f = it->second;
      t.name = f.name;
      t.state = f.state;
      t.state_name = f.state_name;
      t.wait = f.wait;
      t.cpu_user_s = f.cpu_user_s;
      t.cpu_system_s = f.cpu_system_s;
      t.kernel_stack = f.kernel_stack;
    }
    if (!result.snapshot) {
      t.error = result.snapshot.error().message;
      t.complete = false;
      out.threads.push_back(std::move(t));
      continue;
    }
    const auto& snap = *result.snapshot;
    t.stopped_us = snap.stopped_ns / 1000;
    t.in_kernel = snap.in_kernel;
    auto stack = unwinder_.unwind(snap, view);
    t.complete = stack.complete;
    for (const auto& f : stack.frames) {
      auto frames = symbolizer_.symbolize(pid, *maps, f.pc, f.return_address);
      for (auto& sf : frames) t.frames.push_back(std::move(sf));
    }
    if (auto it = py_threads.find(t.tid); it != py_threads.end()) {
      t.python = true;
      t.holds_gil = it->second.holds_gil;
      if (auto name = py_names.find(t.tid); name != py_names.end()) t.python_name = name->second;
      if (auto raw = py_raw.find(t.tid); raw != py_raw.end())
        t.frames = python::merge_frames(t.frames, py->code.groups(raw->second), options.python_only);
      else if (options.python_only)
        t.frames.clear();
    } else if (options.python_only) {
      continue;  // no Python on this thread
    }
    out.threads.push_back(std::move(t));
  }
  std::sort(out.threads.begin(), out.threads.end(),
            [](const ThreadStack& a, const ThreadStack& b) { return a.tid < b.tid; });
  // DWARF is big and a dump is rare: give its memory back, keep the answers.
  symbolizer_.release_debug_info();
  out.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace sonde::aggregate
