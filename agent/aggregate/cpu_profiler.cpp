#include "aggregate/cpu_profiler.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "aggregate/python_sampling.h"
#include "aggregate/python_session.h"
#include "aggregate/sample_stacks.h"
#include "capture/ebpf_sampler.h"
#include "capture/ptrace_sampler.h"
#include "protocol/iso_time.h"
#include "target/procfs.h"

namespace sonde::aggregate {

namespace {

using clock = std::chrono::steady_clock;

// Samples waiting to be unwound. 4096 x a 16 KiB stack copy is 64 MiB at
// worst: two seconds of 999 Hz on two busy CPUs; beyond that we drop rather
// than let the agent grow without bound.
constexpr size_t kMaxQueued = 4096;

struct SampleQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<capture::Sample> samples;
  uint64_t dropped = 0, filtered = 0;
  pid_t only_tid = 0;

  void push(capture::Sample&& s) {
    std::lock_guard lock(mu);
    if (only_tid && s.snapshot.tid != only_tid) {
      ++filtered;
      return;
    }
    if (samples.size() >= kMaxQueued) {
      ++dropped;
      return;
    }
    samples.push_back(std::move(s));
    cv.notify_one();
  }
  // Waits up to `wait` for samples and takes all of them.
  void take(std::vector<capture::Sample>& out, std::chrono::milliseconds wait) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [&] { return !samples.empty(); });
    for (auto& s : samples) out.push_back(std::move(s));
    samples.clear();
  }
};

}  // namespace

CpuProfiler::CpuProfiler() = default;
CpuProfiler::~CpuProfiler() = default;

std::optional<CpuProfiler::Lease> CpuProfiler::try_acquire() {
  bool expected = false;
  if (!busy_.compare_exchange_strong(expected, true)) return std::nullopt;
  return Lease(this);
}

Error CpuProfiler::busy_error() {
  return Error{ErrorCode::conflict,
               "a CPU profile of this node is already running (one sampler per node); "
               "wait for it to finish and ask again"};
}

Result<Profile> CpuProfiler::run(const Lease&, const ProfileRequest& rq, ProfileRunStats* out_stats) {
  if (!(rq.seconds > 0) || rq.seconds > kMaxProfileSeconds)
    return fail(ErrorCode::bad_request, "seconds must be > 0 and <= 600");
  if (rq.hz < 1 || rq.hz > kMaxProfileHz) return fail(ErrorCode::bad_request, "hz must be within 1..1000");
  cancel_ = false;
  const pid_t pid = rq.node.pid;
  if (!kernel_) kernel_ = std::make_unique<symbolize::KernelSymbols>();
  SampleStacks stacks(modules_, unwinder_, symbolizer_, kernel_.get());
  if (auto r = stacks.reset(pid); !r) return std::unexpected(r.error());
  ProfileRunStats stats;
  PythonSession* py = nullptr;
  if (!rq.native_only) {
    auto session = python_session(python_, pid, stacks.maps());
    if (session) {
      py = *session;
      stats.python_version = py->rt.version;
    } else if (session.error().code != ErrorCode::not_found) {
      stats.python_error = session.error().message;
    }
    if (rq.python_only && !py) return std::unexpected(session ? Error{ErrorCode::internal, "no Python"} : session.error());
  }

  ProfileInfo info;
  info.pid = pid;
  std::error_code ec;
  info.exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
  info.hz = rq.hz;
  info.threads = rq.tid ? std::to_string(rq.tid) : "all";
  info.start_time = protocol::now_epoch();

  auto queue = std::make_shared<SampleQueue>();
  queue->only_tid = rq.tid;
  auto push = [queue](capture::Sample&& s) { queue->push(std::move(s)); };

  std::unique_ptr<PythonSampling> py_sampling;
  if (py) {
    py_sampling = std::make_unique<PythonSampling>(*py);
    py_sampling->refresh();  // thread states and names before the first tick
  }
  std::unique_ptr<capture::EbpfSampler> ebpf;
  std::unique_ptr<capture::PtraceSampler> ptrace;
  if (rq.sampler != "ptrace") {
    capture::SamplerOptions o;
    o.hz = rq.hz;
    o.stack_bytes = rq.stack_bytes;
    if (py) o.python = py_sampling->probe();
    auto s = capture::EbpfSampler::start(pid, o, push);
    if (s) {
      ebpf = std::move(*s);
      if (py) give_python_threads(*ebpf, py_sampling->refresh());
    } else if (rq.sampler == "ebpf" || s.error().code == ErrorCode::bad_request ||
               s.error().code == ErrorCode::no_node) {
      return std::unexpected(s.error());
    } else {
      stats.fallback_reason = s.error().message;
      spdlog::warn("CPU profile of pid {}: eBPF sampling refused ({}); sampling with ptrace instead, "
                   "which stops each running thread briefly on every tick",
                   pid, s.error().message);
    }
  } else {
    stats.fallback_reason = "the ptrace sampler was asked for";
  }
  if (!ebpf) {
    // A ptrace copy costs one process_vm_readv whatever its size: take more
    // than the probe can, so deep stacks still reach main.
    auto s = capture::PtraceSampler::start(pid, rq.hz, std::max<size_t>(rq.stack_bytes, 64 * 1024), push,
                                           py ? py_sampling->ptrace_reader() : nullptr);
    if (!s) return std::unexpected(s.error());
    ptrace = std::move(*s);
  }
  info.sampler = ebpf ? "ebpf" : "ptrace";
  if (py) stacks.set_python(&py->code, rq.python_only);

  ProfileBuilder builder(info);
  std::unordered_map<pid_t, std::string> comms;  // read once per thread
  auto thread_name = [&](pid_t tid) -> std::string {
    if (py_sampling)
      if (std::string name = py_sampling->name(tid); !name.empty()) return name;  // threading's
    auto it = comms.find(tid);
    if (it == comms.end()) it = comms.emplace(tid, target::thread_name(pid, tid)).first;
    return it->second;
  };
  // Thread states (new threads) for the probe or the ptrace reader; code
  // objects checked anew.
  bool sampling = true;  // false once the sampler is stopped: the probe takes no more threads
  auto refresh_python = [&] {
    auto threads = py_sampling->refresh();
    if (ebpf && sampling) give_python_threads(*ebpf, threads);
    py->code.new_pass();
  };
  std::vector<capture::Sample> batch;
  uint64_t resolved = 0;
  clock::duration resolve_time{};
  auto consume = [&] {
    for (const auto& s : batch) {
      if (s.python_thread) {
        ++stats.python_samples;
        if (!s.python.complete) ++stats.python_truncated;
      }
      // Python alone: the samples of Python threads that ran Python code.
      if (py && rq.python_only && (!s.python_thread || s.python.frames.empty())) continue;
      auto t0 = clock::now();
      const auto& frames = stacks.frames(s);
      resolve_time += clock::now() - t0;
      pid_t tid = s.snapshot.tid;
      builder.add(tid, thread_name(tid), frames);
      if (py_sampling && !s.python_thread && py_sampling->wants_refresh(tid)) refresh_python();
      ++resolved;
    }
    batch.clear();
  };

  const auto started = clock::now();
  const auto deadline = started + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(rq.seconds));
  auto checked = started;
  bool partial = false;
  for (;;) {
    queue->take(batch, std::chrono::milliseconds(50));
    consume();
    auto now = clock::now();
    if (now >= deadline) break;
    if (cancel_) {
      partial = true;
      break;
    }
    if (now - checked > std::chrono::milliseconds(200)) {
      checked = now;
      if (py) refresh_python();
      if (!target::still_alive(rq.node) || (ptrace && ptrace->ended())) {
        partial = true;  // the node exited: what we have so far
        break;
      }
    }
  }
  // Detach the probe (or stop the ptrace ticks), then unwind what is left.
  uint64_t sampler_dropped = 0;
  sampling = false;
  if (ebpf) {
    ebpf->stop();
    auto st = ebpf->stats();
    sampler_dropped = st.dropped;
    builder.info().probe_cpu_s = double(st.probe_ns) / 1e9;
  }
  if (ptrace) ptrace->stop();
  queue->take(batch, std::chrono::milliseconds(0));
  consume();

  auto& bi = builder.info();
  bi.duration_s = std::chrono::duration<double>(clock::now() - started).count();
  bi.partial = partial;
  {
    std::lock_guard lock(queue->mu);
    stats.queue_dropped = queue->dropped;
    stats.filtered = queue->filtered;
  }
  bi.dropped = sampler_dropped + stats.queue_dropped;
  stats.samples = resolved;
  stats.resolve_us = resolved ? std::chrono::duration<double, std::micro>(resolve_time).count() / double(resolved) : 0;
  uint64_t lookups = stacks.pc_cache_hits() + stacks.pc_cache_misses();
  stats.pc_cache_hit_rate = lookups ? double(stacks.pc_cache_hits()) / double(lookups) : 0;
  if (partial && !target::still_alive(rq.node)) symbolizer_.forget_process(pid);
  if (py)
    spdlog::info("CPU profile of pid {}: CPython {}, {} samples of Python threads, {} with a cut frame chain", pid,
                 stats.python_version, stats.python_samples, stats.python_truncated);
  spdlog::info("CPU profile of pid {} ({}): {} samples in {:.1f} s at {} Hz, {} dropped, {:.1f} us/sample to "
               "unwind+symbolize, pc cache hit rate {:.3f}{}",
               pid, bi.sampler, resolved, bi.duration_s, rq.hz, bi.dropped, stats.resolve_us,
               stats.pc_cache_hit_rate, partial ? ", partial" : "");
  if (out_stats) *out_stats = stats;
  return builder.finish();
}

}  // namespace sonde::aggregate
