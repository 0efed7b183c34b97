#include "proxy/call_sampler.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <atomic>
#include <filesystem>

#include "aggregate/sample_stacks.h"
#include "protocol/iso_time.h"
#include "python/py_runtime.h"
#include "target/maps.h"
#include "target/procfs.h"

namespace sonde::proxy {

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// The eBPF ring is drained every 10 ms: a sample stamped more than this long
// ago has surely been handed over.
constexpr uint64_t kDeliverySlackNs = 25'000'000;
// How often cached Python code objects are checked again (as CpuProfiler).
constexpr std::chrono::milliseconds kPythonRefresh{200};
// Samples waiting to be unwound, at most (as CpuProfiler: beyond, drop and count).
constexpr size_t kMaxQueued = 4096;

}  // namespace

struct CallSampler::Window {
  uint64_t start_ns = 0, end_ns = 0;  // end 0: open
  aggregate::ProfileBuilder builder;
  std::function<void(aggregate::Profile)> done;  // close_async's
  bool per_thread = false;
  pid_t only_tid = 0;
  struct Kept {
    pid_t tid;
    std::string thread_name;
    std::vector<aggregate::Frame> frames;
  };
  std::vector<Kept> kept;  // per_thread windows: the samples, built at the end
};

CallSampler::CallSampler(int hz, std::chrono::milliseconds linger) : hz_(hz), linger_(linger) {
  resolver_ = std::thread([this] { resolver_loop(); });
}

CallSampler::~CallSampler() { stop(); }

void CallSampler::stop() {
  std::unique_ptr<capture::EbpfSampler> ebpf;
  std::unique_ptr<capture::PtraceSampler> ptrace;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    ebpf = std::move(ebpf_);
    ptrace = std::move(ptrace_);
  }
  cv_.notify_all();
  resolved_.notify_all();
  // Outside the lock: stop() still hands over the ring's last samples.
  if (ebpf) ebpf->stop();
  if (ptrace) ptrace->stop();
  if (resolver_.joinable()) resolver_.join();
}

bool CallSampler::running(const target::NodeId& node) const {
  std::lock_guard lock(mu_);
  return (ebpf_ || ptrace_) && node_ == node && !stopping_;
}

Result<void> CallSampler::start_locked(const target::NodeId& node) {
  // Called with mu_ held: the samplers are built outside it, since their
  // threads call back into push (which takes mu_) as soon as they run.
  uint64_t gen = ++generation_;
  std::unique_ptr<capture::EbpfSampler> old_ebpf = std::move(ebpf_);
  std::unique_ptr<capture::PtraceSampler> old_ptrace = std::move(ptrace_);
  node_ = node;
  mu_.unlock();
  if (old_ebpf) old_ebpf->stop();
  if (old_ptrace) old_ptrace->stop();
  // A CPython node: its frames and thread names go into the samples.
  std::shared_ptr<aggregate::PythonSession> py;
  std::shared_ptr<aggregate::PythonSampling> py_sampling;
  std::vector<std::pair<pid_t, uint64_t>> py_threads;  // for the probe, once it runs
  if (auto maps = target::read_maps(node.pid)) {
    if (auto rt = python::locate_python(node.pid, *maps)) {
      py = std::make_shared<aggregate::PythonSession>(std::move(*rt));
      py_sampling = std::make_shared<aggregate::PythonSampling>(*py);
      py_threads = py_sampling->refresh();  // from here on, only push refreshes it
    } else if (rt.error().code != ErrorCode::not_found) {
      spdlog::warn("proxy profiles of pid {}: {}; native frames only", node.pid, rt.error().message);
    }
  }
  {
    // Before the sampler runs: its first samples must meet the interpreter
    // in the resolver (which takes it with the generation).
    std::lock_guard lock(mu_);
    python_ = py;
    python_sampling_ = py_sampling;
  }
  // A sample of a thread new to the Python table reads the table again
  // here, on the sampler's thread: the resolver may be busy symbolizing for
  // longer than a short call lasts. (The sampler outlives every call of push.)
  auto probe = std::make_shared<std::atomic<capture::EbpfSampler*>>(nullptr);
  auto push = [this, gen, py_sampling, probe](capture::Sample&& s) {
    if (py_sampling && !s.python_thread && py_sampling->wants_refresh(s.snapshot.tid)) {
      auto threads = py_sampling->refresh();
      if (auto* e = probe->load()) aggregate::give_python_threads(*e, threads);
    }
    std::lock_guard lock(mu_);
    if (gen != generation_) return;
    if (queue_.size() >= kMaxQueued) {
      ++queue_dropped_;
      return;
    }
    queue_.push_back(std::move(s));
    cv_.notify_one();
  };
  std::unique_ptr<capture::EbpfSampler> ebpf;
  std::unique_ptr<capture::PtraceSampler> ptrace;
  std::string fallback;
  capture::SamplerOptions o;
  o.hz = hz_;
  if (py_sampling) o.python = py_sampling->probe();
  auto e = capture::EbpfSampler::start(node.pid, o, push);
  if (e) {
    ebpf = std::move(*e);
    if (py_sampling) aggregate::give_python_threads(*ebpf, py_threads);
    probe->store(ebpf.get());
  } else if (e.error().code == ErrorCode::no_node || e.error().code == ErrorCode::bad_request) {
    mu_.lock();
    return std::unexpected(e.error());
  } else {
    fallback = e.error().message;
    auto p = capture::PtraceSampler::start(node.pid, hz_, 64 * 1024, push,
                                           py_sampling ? py_sampling->ptrace_reader() : nullptr);
    if (!p) {
      mu_.lock();
      return std::unexpected(p.error());
    }
    ptrace = std::move(*p);
    spdlog::warn("proxy profiles of pid {}: eBPF refused ({}); sampling with ptrace", node.pid, fallback);
  }
  mu_.lock();
  if (stopping_ || gen != generation_) {
    mu_.unlock();  // shut down, or another start won meanwhile: ours goes
    ebpf.reset();
    ptrace.reset();
    mu_.lock();
    return fail(ErrorCode::no_node, "the proxy's sampler is stopping");
  }
  ebpf_ = std::move(ebpf);
  ptrace_ = std::move(ptrace);
  sampler_name_ = ebpf_ ? "ebpf" : "ptrace";
  spdlog::info("proxy: sampling pid {} at {} Hz with {} while calls are profiled", node.pid, hz_, sampler_name_);
  return {};
}

Result<CallSampler::WindowPtr> CallSampler::open(const target::NodeId& node, bool per_thread) {
  std::unique_lock lock(mu_);
  // Calls that arrive while the probe loads wait for it rather than load a second one.
  cv_.wait(lock, [&] { return !starting_ || stopping_; });
  if (stopping_) return fail(ErrorCode::no_node, "the agent is stopping");
  if (!(ebpf_ || ptrace_) || !(node_ == node)) {
    starting_ = true;
    auto r = start_locked(node);
    starting_ = false;
    cv_.notify_all();
    if (!r) return std::unexpected(r.error());
  }
  return add_window_locked(node, per_thread);
}

CallSampler::WindowPtr CallSampler::open_if_warm(const target::NodeId& node, bool per_thread) {
  std::lock_guard lock(mu_);
  if (stopping_ || starting_ || !(ebpf_ || ptrace_) || !(node_ == node)) return nullptr;
  return add_window_locked(node, per_thread);
}

CallSampler::WindowPtr CallSampler::add_window_locked(const target::NodeId& node, bool per_thread) {
  auto w = std::make_shared<Window>();
  w->start_ns = monotonic_ns();
  w->per_thread = per_thread;
  aggregate::ProfileInfo& info = w->builder.info();
  info.pid = node.pid;
  std::error_code ec;
  info.exe = std::filesystem::read_symlink("/proc/" + std::to_string(node.pid) + "/exe", ec).string();
  info.hz = hz_;
  info.sampler = sampler_name_;
  info.start_time = protocol::now_epoch();
  windows_.push_back(w);
  cv_.notify_all();
  return w;
}

void CallSampler::end(const WindowPtr& w) {
  std::lock_guard lock(mu_);
  if (!w->end_ns) w->end_ns = monotonic_ns();
}

aggregate::Profile CallSampler::close(const WindowPtr& w, pid_t only_tid) {
  std::unique_lock lock(mu_);
  if (!w->end_ns) w->end_ns = monotonic_ns();
  w->only_tid = only_tid;
  // Bounded: a resolver far behind (a huge first symbolization) gives what it has.
  resolved_.wait_for(lock, std::chrono::seconds(5),
                     [&] { return stopping_ || drained_ns_ >= w->end_ns || !(ebpf_ || ptrace_); });
  windows_.remove(w);
  if (windows_.empty()) idle_since_ = std::chrono::steady_clock::now();
  aggregate::Profile p = finish_locked(*w);
  lock.unlock();
  cv_.notify_all();  // the resolver may stop an idle sampler
  return p;
}

void CallSampler::close_async(const WindowPtr& w, pid_t only_tid, std::function<void(aggregate::Profile)> done) {
  std::lock_guard lock(mu_);
  if (!w->end_ns) w->end_ns = monotonic_ns();
  w->only_tid = only_tid;
  w->done = std::move(done);
}

aggregate::Profile CallSampler::finish_locked(Window& w) {
  for (const auto& k : w.kept)
    if (!w.only_tid || k.tid == w.only_tid) w.builder.add(k.tid, k.thread_name, k.frames);
  w.kept.clear();
  auto& info = w.builder.info();
  if (w.only_tid) info.threads = std::to_string(w.only_tid);
  info.duration_s = double(w.end_ns - w.start_ns) / 1e9;
  info.dropped = queue_dropped_;
  return w.builder.finish();
}

void CallSampler::resolver_loop() {
  std::unique_ptr<aggregate::SampleStacks> stacks;
  uint64_t stacks_gen = 0;
  pid_t pid = 0;
  std::unordered_map<pid_t, std::string> names;
  std::shared_ptr<aggregate::PythonSession> py;
  std::shared_ptr<aggregate::PythonSampling> py_sampling;
  auto python_refreshed = std::chrono::steady_clock::now();
  std::vector<capture::Sample> batch;
  std::vector<std::pair<size_t, std::vector<aggregate::Frame>>> resolved;
  std::vector<std::pair<std::function<void(aggregate::Profile)>, aggregate::Profile>> ready;
  for (;;) {
    uint64_t gen = 0, watermark = 0;
    std::unique_ptr<capture::EbpfSampler> idle_ebpf;
    std::unique_ptr<capture::PtraceSampler> idle_ptrace;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      watermark = monotonic_ns() - kDeliverySlackNs;
      gen = generation_;
      pid = node_.pid;
      if (gen != stacks_gen) {
        py = python_;
        py_sampling = python_sampling_;
      }
      for (auto& s : queue_) batch.push_back(std::move(s));
      queue_.clear();
      if (windows_.empty() && (ebpf_ || ptrace_) && std::chrono::steady_clock::now() - idle_since_ > linger_) {
        idle_ebpf = std::move(ebpf_);
        idle_ptrace = std::move(ptrace_);
        ++generation_;
      }
    }
    if (idle_ebpf || idle_ptrace) {
      spdlog::info("proxy: no profiled call for {} ms: sampler of pid {} stopped", linger_.count(), pid);
      idle_ebpf.reset();  // detaches the probe
      idle_ptrace.reset();
      batch.clear();
    }
    if (!batch.empty()) {
      if (gen != stacks_gen || !stacks) {
        if (!kernel_) kernel_ = std::make_unique<symbolize::KernelSymbols>();
        stacks = std::make_unique<aggregate::SampleStacks>(modules_, unwinder_, symbolizer_, kernel_.get());
        if (auto r = stacks->reset(pid); !r) spdlog::warn("proxy profiles: {}", r.error().message);
        stacks->set_python(py ? &py->code : nullptr, false);
        stacks_gen = gen;
        names.clear();
      }
      resolved.clear();
      for (size_t i = 0; i < batch.size(); ++i) resolved.emplace_back(i, stacks->frames(batch[i]));
      for (const auto& s : batch) {
        pid_t tid = s.snapshot.tid;
        std::string name = py_sampling ? py_sampling->name(tid) : "";  // threading's, else the OS one
        if (!name.empty()) names[tid] = name;
        else if (!names.count(tid)) names.emplace(tid, target::thread_name(pid, tid));
      }
    }
    // Code objects are checked anew now and then (an address reused).
    if (py && std::chrono::steady_clock::now() - python_refreshed > kPythonRefresh) {
      python_refreshed = std::chrono::steady_clock::now();
      py->code.new_pass();
    }
    {
      std::lock_guard lock(mu_);
      for (auto& [i, frames] : resolved) {
        const auto& s = batch[i];
        for (auto& w : windows_) {
          if (s.time_ns < w->start_ns || (w->end_ns && s.time_ns > w->end_ns)) continue;
          if (w->per_thread) w->kept.push_back({s.snapshot.tid, names[s.snapshot.tid], frames});
          else w->builder.add(s.snapshot.tid, names[s.snapshot.tid], frames);
        }
      }
      drained_ns_ = std::max(drained_ns_, watermark);
      // close_async's windows whose samples are all in: finished here.
      for (auto it = windows_.begin(); it != windows_.end();) {
        auto& w = **it;
        if (!w.done || !w.end_ns || w.end_ns > drained_ns_) {
          ++it;
          continue;
        }
        ready.emplace_back(std::move(w.done), finish_locked(w));
        it = windows_.erase(it);
        if (windows_.empty()) idle_since_ = std::chrono::steady_clock::now();
      }
    }
    resolved_.notify_all();
    for (auto& [done, profile] : ready) done(std::move(profile));
    ready.clear();
    batch.clear();
    resolved.clear();
  }
}

}  // namespace sonde::proxy
