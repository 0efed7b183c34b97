#include "capture/ptrace_sampler.h"

#include <time.h>

#include <chrono>
#include <unordered_map>
#include <vector>

#include "capture/ptrace_capture.h"
#include "target/procfs.h"

namespace sonde::capture {

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Threads of pid in state R now: the ones a cpu-clock tick could land on.
std::vector<pid_t> running_threads(pid_t pid) {
  std::vector<pid_t> out;
  auto tids = target::list_tasks(pid);
  if (!tids) return out;
  for (pid_t tid : *tids)
    if (auto st = target::read_task_stat(pid, tid); st && st->state == 'R') out.push_back(tid);
  return out;
}

}  // namespace

Result<std::unique_ptr<PtraceSampler>> PtraceSampler::start(pid_t tgid, int hz, size_t stack_bytes,
                                                            std::function<void(Sample&&)> on_sample,
                                                            PythonReader python) {
  if (hz < 1 || hz > 1000) return fail(ErrorCode::bad_request, "hz must be within 1..1000");
  // One capture now, so that a refused attach is an error of start(), with its fix.
  CaptureOptions probe;
  probe.tids = {tgid};
  probe.max_stack_bytes = 64;
  auto first = capture_process(tgid, probe);
  if (!first) return std::unexpected(first.error());
  std::unique_ptr<PtraceSampler> s(new PtraceSampler());
  s->pid_ = tgid;
  s->hz_ = hz;
  s->stack_bytes_ = stack_bytes;
  s->on_sample_ = std::move(on_sample);
  s->python_ = std::move(python);
  s->thread_ = std::thread([p = s.get()] { p->loop(); });
  return s;
}

PtraceSampler::~PtraceSampler() { stop(); }

void PtraceSampler::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

PtraceSampler::Stats PtraceSampler::stats() const {
  return Stats{ticks_.load(), samples_.load(), missed_.load(), failed_.load(), stopped_ns_.load()};
}

void PtraceSampler::loop() {
  using clock = std::chrono::steady_clock;
  const auto period = std::chrono::nanoseconds(1000000000LL / hz_);
  CaptureOptions opts;
  opts.max_stack_bytes = stack_bytes_;
  opts.stop_timeout = std::chrono::milliseconds(100);  // a thread that will not stop is skipped quickly
  std::unordered_map<pid_t, python::RawStack> python_frames;  // this tick's, by tid
  if (python_)
    opts.while_stopped = [&](pid_t tid) {
      python::RawStack raw;
      if (python_(tid, &raw)) python_frames[tid] = std::move(raw);
    };
  auto next = clock::now();
  while (!stopping_) {
    ++ticks_;
    opts.tids = running_threads(pid_);
    python_frames.clear();
    if (!opts.tids.empty()) {
      auto captured = capture_process(pid_, opts);
      if (!captured) {
        if (captured.error().code == ErrorCode::no_node || !target::read_stat(pid_)) {
          ended_ = true;
          return;
        }
        ++failed_;
      } else {
        for (auto& t : *captured) {
          if (t.vanished) continue;
          if (!t.snapshot) {
            ++failed_;
            continue;
          }
          Sample s;
          s.snapshot = std::move(*t.snapshot);
          s.time_ns = monotonic_ns();
          s.in_kernel = s.snapshot.in_kernel;
          if (auto py = python_frames.find(t.tid); py != python_frames.end()) {
            s.python_thread = true;
            s.python = std::move(py->second);
          }
          stopped_ns_ += s.snapshot.stopped_ns;
          ++samples_;
          on_sample_(std::move(s));
        }
      }
    } else if (!target::read_stat(pid_)) {
      ended_ = true;
      return;
    }
    next += period;
    auto now = clock::now();
    if (now > next) {  // late: skip the ticks we missed rather than bunch them up
      missed_ += uint64_t((now - next) / period);
      next = now;
    }
    std::this_thread::sleep_until(next);
  }
}

}  // namespace sonde::capture
