#include "capture/ebpf_sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <mutex>
#include <string>

#include "probes/cpu_sample.h"
#include "probes/cpu_sample.skel.h"
#include "target/procfs.h"

namespace sonde::capture {

namespace {

// ---- libbpf's messages ------------------------------------------------------
// libbpf prints to stderr by default; the agent owns its stderr, so warnings
// are kept per thread instead and the tail ends up in the Error of a failed
// start() (e.g. the verifier's last words).
thread_local std::string t_libbpf_log;

int keep_libbpf_message(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  int n = std::vsnprintf(line, sizeof line, format, args);
  t_libbpf_log += line;
  if (t_libbpf_log.size() > 8192) t_libbpf_log.erase(0, t_libbpf_log.size() - 4096);
  return n;
}

// What libbpf said last on this thread: the verifier's verdict when it
// refused the program (the line above its "processed N insns" summary),
// else libbpf's own last line; "" when it said nothing.
std::string libbpf_last_words(bool* verifier_refused) {
  std::string s = t_libbpf_log;
  auto end = s.rfind("-- END PROG LOAD LOG --");
  *verifier_refused = end != std::string::npos;
  if (*verifier_refused) s.resize(end);
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < s.size()) {
    size_t nl = s.find('\n', at);
    if (nl == std::string::npos) nl = s.size();
    std::string line = s.substr(at, nl - at);
    if (!line.empty() && line.rfind("processed ", 0) != 0) lines.push_back(line);
    at = nl + 1;
  }
  return lines.empty() ? "" : lines.back();
}

// ---- why eBPF was refused, and what to do -------------------------------------
const char* kGrant = "run the agent as root, or grant it CAP_BPF and CAP_PERFMON (`sonde doctor --pid N` checks each)";

int perf_event_paranoid() {
  auto text = target::read_text_file("/proc/sys/kernel/perf_event_paranoid");
  return text && !text->empty() ? std::atoi(text->c_str()) : 2;
}

Error load_error(int err) {
  bool verifier_refused = false;
  std::string tail = libbpf_last_words(&verifier_refused);
  if (verifier_refused)  // EACCES too, but a bug of ours (or a kernel too old), not a privilege
    return Error{ErrorCode::internal, "eBPF: the kernel's verifier refused the CPU sampler: " + tail};
  std::string detail = tail.empty() ? "" : " (" + tail + ")";
  if (err == EPERM || err == EACCES)
    return Error{ErrorCode::permission, "eBPF refused: cannot load the CPU sampler: " +
                                            std::string(std::strerror(err)) + "; " + kGrant +
                                            " (and check kernel.unprivileged_bpf_disabled)" + detail};
  return Error{ErrorCode::internal, "eBPF: cannot load the CPU sampler: " +
                                        std::string(std::strerror(err)) + detail};
}

Error perf_open_error(int err, int cpu, int hz) {
  std::string what = "eBPF: cannot open the cpu-clock event on CPU " + std::to_string(cpu) + ": " +
                     std::strerror(err);
  if (err == EACCES || err == EPERM)
    return Error{ErrorCode::permission,
                 what + "; " + kGrant + ", or set kernel.perf_event_paranoid to 0 or lower (it is " +
                     std::to_string(perf_event_paranoid()) + ")"};
  if (err == EINVAL) {
    auto max = target::read_text_file("/proc/sys/kernel/perf_event_max_sample_rate");
    std::string m = max ? *max : "?";
    while (!m.empty() && m.back() == '\n') m.pop_back();
    return Error{ErrorCode::bad_request, what + " (" + std::to_string(hz) +
                                             " Hz; kernel.perf_event_max_sample_rate is " + m + ")"};
  }
  return Error{ErrorCode::internal, what};
}

// ---- the machine ------------------------------------------------------------
// CPUs listed in /sys/devices/system/cpu/online ("0-3,6").
std::vector<int> online_cpus() {
  std::vector<int> cpus;
  auto text = target::read_text_file("/sys/devices/system/cpu/online");
  if (!text) return cpus;
  const char* p = text->c_str();
  while (*p) {
    char* end;
    long first = std::strtol(p, &end, 10);
    if (end == p) break;
    long last = first;
    p = end;
    if (*p == '-') {
      last = std::strtol(p + 1, &end, 10);
      p = end;
    }
    for (long c = first; c <= last; ++c) cpus.push_back(static_cast<int>(c));
    while (*p == ',' || *p == '\n') ++p;
  }
  return cpus;
}

int open_cpu_clock(int cpu, int hz) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.freq = 1;  // the kernel maps a cpu-clock frequency to a fixed hrtimer period
  attr.sample_freq = static_cast<uint64_t>(hz);
  attr.disabled = 1;  // enabled by libbpf once the program is attached
  return static_cast<int>(
      ::syscall(SYS_perf_event_open, &attr, -1 /* any process */, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

size_t round_up_pow2(size_t n) {
  size_t p = 4096;
  while (p < n) p <<= 1;
  return p;
}

// /proc/self/ns/pid when the agent is not in the initial pid namespace: then
// the probe must number threads as the agent does.
struct PidNs {
  uint64_t dev = 0, ino = 0;
};
PidNs own_pid_namespace() {
  constexpr uint64_t kInitPidNsIno = 0xEFFFFFFCu;  // PROC_PID_INIT_INO
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) != 0 || st.st_ino == kInitPidNsIno) return {};
  return PidNs{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

// One record of the ring -> a Sample; false when the record does not hold
// what its header claims.
bool to_sample(const void* data, size_t size, Sample& out) {
  if (size < SONDE_SAMPLE_HEADER_BYTES) return false;
  const auto* r = static_cast<const sonde_cpu_sample*>(data);
  if (SONDE_SAMPLE_HEADER_BYTES + size_t{r->stack_len} > size) return false;
  Snapshot& s = out.snapshot;
  s.pid = static_cast<pid_t>(r->tgid);
  s.tid = static_cast<pid_t>(r->tid);
  static_assert(sizeof s.regs.dwarf == sizeof r->regs);
  std::memcpy(s.regs.dwarf, r->regs, sizeof r->regs);
  // The probe copies whole pages from sp's page; the Snapshot starts at sp.
  uint64_t sp = s.regs.sp();
  uint64_t end = r->stack_base + r->stack_len;
  s.stack_start = sp;
  if (sp >= r->stack_base && sp < end)
    s.stack.assign(r->stack + (sp - r->stack_base), r->stack + r->stack_len);
  s.in_kernel = (r->flags & SONDE_SAMPLE_IN_KERNEL) != 0;
  out.in_kernel = s.in_kernel;
  out.time_ns = r->time_ns;
  out.cpu = static_cast<int>(r->cpu);
  if (r->kstack_bytes > 0) {
    size_t n = std::min<size_t>(static_cast<size_t>(r->kstack_bytes) / 8, SONDE_KSTACK_MAX);
    out.kernel_stack.assign(r->kstack, r->kstack + n);
  }
  out.python_thread = (r->flags & SONDE_SAMPLE_PY_THREAD) != 0;
  out.python.complete = (r->flags & SONDE_SAMPLE_PY_TRUNCATED) == 0;
  for (uint32_t i = 0; i < std::min<uint32_t>(r->py_count, SONDE_PY_MAX_FRAMES); ++i) {
    python::RawFrame f;
    f.code = r->py[i].code & ~uint64_t{1};
    f.ends_call = (r->py[i].code & 1) != 0;
    f.instr = r->py[i].instr;
    out.python.frames.push_back(f);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<EbpfSampler>> EbpfSampler::start(pid_t tgid, const SamplerOptions& o,
                                                        std::function<void(Sample&&)> on_sample) {
  if (o.hz <= 0) return fail(ErrorCode::bad_request, "sampling frequency must be positive");
  if (o.stack_bytes == 0 || o.stack_bytes > SONDE_STACK_MAX_BYTES)
    return fail(ErrorCode::bad_request,
                "stack bytes per sample must be 1.." + std::to_string(SONDE_STACK_MAX_BYTES));
  if (tgid <= 0 || (::kill(tgid, 0) != 0 && errno == ESRCH))
    return fail(ErrorCode::no_node, "no process " + std::to_string(tgid));
  if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return fail(ErrorCode::permission,
                "eBPF refused: this kernel exposes no BTF (/sys/kernel/btf/vmlinux); the CPU sampler "
                "needs a kernel built with CONFIG_DEBUG_INFO_BTF (5.x distribution kernels are)");

  static std::once_flag print_once;
  std::call_once(print_once, [] { libbpf_set_print(keep_libbpf_message); });
  t_libbpf_log.clear();

  std::unique_ptr<EbpfSampler> self(new EbpfSampler());
  self->on_sample_ = std::move(on_sample);
  self->poll_interval_ = o.poll_interval;

  self->skel_ = cpu_sample_bpf::open();
  if (!self->skel_) return std::unexpected(load_error(errno));
  auto* rodata = self->skel_->rodata;
  rodata->node_tgid = static_cast<__u32>(tgid);
  // Enough pages to hold stack_bytes above sp wherever sp sits in its page.
  rodata->stack_pages = static_cast<__u32>((o.stack_bytes + SONDE_PAGE_SIZE - 1) / SONDE_PAGE_SIZE + 1);
  PidNs ns = own_pid_namespace();
  rodata->pidns_dev = ns.dev;
  rodata->pidns_ino = ns.ino;
  size_t ring = round_up_pow2(std::max<size_t>(o.ring_bytes, 4 * SONDE_RECORD_BYTES(SONDE_STACK_MAX_PAGES)));
  rodata->wakeup_bytes = ring / 4;
  if (o.python.enabled) {
    const auto& p = o.python;
    if (p.frame_bytes < 8 || p.frame_bytes > SONDE_PY_FRAME_BYTES)
      return fail(ErrorCode::bad_request, "Python frame size out of the probe's range");
    rodata->py = sonde_py_offsets{1, p.tstate_cframe, p.cframe_current_frame, p.tstate_current_frame,
                                  p.frame_previous, p.frame_code, p.frame_instr, p.frame_owner,
                                  p.frame_is_entry, p.owner_cstack, p.frame_bytes};
  }
  if (int err = bpf_map__set_max_entries(self->skel_->maps.sonde_samples, static_cast<__u32>(ring)))
    return std::unexpected(load_error(-err));
  if (int err = cpu_sample_bpf::load(self->skel_)) return std::unexpected(load_error(-err));

  if (o.measure_probe_cost) self->stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);  // best effort

  self->ring_ = ring_buffer__new(bpf_map__fd(self->skel_->maps.sonde_samples), &EbpfSampler::on_record,
                                 self.get(), nullptr);
  if (!self->ring_) return std::unexpected(load_error(errno));

  // Attach to every online CPU; one refused CPU refuses the whole sampler (a
  // profile blind on some CPUs would mislead). Returning here destroys self,
  // which detaches what was attached.
  std::vector<int> cpus = online_cpus();
  if (cpus.empty()) return fail(ErrorCode::io, "cannot read /sys/devices/system/cpu/online");
  for (int cpu : cpus) {
    int fd = open_cpu_clock(cpu, o.hz);
    if (fd < 0) {
      if (errno == ENODEV) continue;  // went offline since the list was read
      return std::unexpected(perf_open_error(errno, cpu, o.hz));
    }
    bpf_link* link = bpf_program__attach_perf_event(self->skel_->progs.sonde_cpu_clock, fd);
    if (!link) {
      int err = errno;
      ::close(fd);
      return std::unexpected(load_error(err));
    }
    self->links_.push_back(link);  // the link owns fd from here on
  }
  if (self->links_.empty()) return fail(ErrorCode::io, "no online CPU accepted a cpu-clock event");
  self->cpus_ = static_cast<int>(self->links_.size());

  self->poller_ = std::thread([s = self.get()] { s->poll_loop(); });
  return self;
}

EbpfSampler::~EbpfSampler() { stop(); }

Result<void> EbpfSampler::set_python_threads(const std::vector<std::pair<pid_t, uint64_t>>& tid_tstate) {
  if (!skel_ || stopped_) return fail(ErrorCode::internal, "sampler not running");
  int fd = bpf_map__fd(skel_->maps.sonde_py_tstates);
  std::unordered_map<uint32_t, uint64_t> want;
  for (auto [tid, ts] : tid_tstate) want[static_cast<uint32_t>(tid)] = ts;
  // Threads that ended: out of the map first (their states may be reused).
  std::vector<uint32_t> stale;
  uint32_t key = 0, next = 0;
  for (void* at = nullptr; bpf_map_get_next_key(fd, at, &next) == 0; at = &key) {
    if (!want.count(next)) stale.push_back(next);
    key = next;
  }
  for (uint32_t k : stale) bpf_map_delete_elem(fd, &k);
  for (auto& [tid, ts] : want)
    if (bpf_map_update_elem(fd, &tid, &ts, BPF_ANY) != 0)
      return fail(ErrorCode::io, std::string("cannot update the probe's Python thread map: ") + std::strerror(errno));
  return {};
}

void EbpfSampler::poll_loop() {
  int timeout_ms = static_cast<int>(poll_interval_.count());
  while (!stopping_.load(std::memory_order_acquire)) {
    // The probe mostly submits without a wakeup (cheaper for the node and
    // for us): the poll's timeout is the drain clock, the consume catches
    // what arrived silently.
    ring_buffer__poll(ring_, timeout_ms);
    ring_buffer__consume(ring_);
  }
  ring_buffer__consume(ring_);  // the probe is detached: this is the last of it
}

int EbpfSampler::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<EbpfSampler*>(ctx);
  Sample s;
  if (!to_sample(data, size, s)) {
    self->malformed_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  self->delivered_.fetch_add(1, std::memory_order_relaxed);
  // An exception must not unwind through libbpf's C frames; the sample is
  // then counted as delivered but lost to the caller.
  try {
    if (self->on_sample_) self->on_sample_(std::move(s));
  } catch (...) {
  }
  return 0;
}

void EbpfSampler::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Detach first, so the ring only shrinks while the poller drains it.
  for (bpf_link* link : links_) bpf_link__destroy(link);
  if (poller_.joinable()) {
    stopping_.store(true, std::memory_order_release);
    poller_.join();
  }
  if (skel_) {
    final_ = read_counters();
    final_.lost = final_.samples > final_.dropped + final_.delivered
                      ? final_.samples - final_.dropped - final_.delivered
                      : 0;
  }
  links_.clear();
  ring_buffer__free(ring_);
  ring_ = nullptr;
  cpu_sample_bpf::destroy(skel_);  // unloads the program and frees the maps
  skel_ = nullptr;
  if (stats_fd_ >= 0) ::close(stats_fd_);
  stats_fd_ = -1;
}

EbpfSampler::Stats EbpfSampler::stats() const {
  if (stopped_) return final_;
  return read_counters();
}

EbpfSampler::Stats EbpfSampler::read_counters() const {
  Stats st;
  st.delivered = delivered_.load(std::memory_order_relaxed);
  if (!skel_) return st;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu > 0) {
    std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
    int fd = bpf_map__fd(skel_->maps.sonde_counters);
    auto sum = [&](uint32_t key) {
      uint64_t total = 0;
      if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) == 0)
        for (uint64_t v : per_cpu) total += v;
      return total;
    };
    st.samples = sum(SONDE_COUNT_SAMPLES);
    st.dropped = sum(SONDE_COUNT_DROPPED);
    st.stack_short = sum(SONDE_COUNT_STACK_SHORT);
    st.probe_ns = sum(SONDE_COUNT_PROBE_NS);
  }
  bpf_prog_info info{};
  __u32 len = sizeof info;
  if (bpf_obj_get_info_by_fd(bpf_program__fd(skel_->progs.sonde_cpu_clock), &info, &len) == 0) {
    st.probe_runs = info.run_cnt;
    st.probe_run_ns = info.run_time_ns;
  }
  return st;
}

}  // namespace sonde::capture
