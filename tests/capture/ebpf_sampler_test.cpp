// The eBPF CPU sampler against real programs: every sample is unwound by the
// same offline unwinder as ptrace snapshots and symbolized by the same
// symbolizer. target_spin gives a known 3:1 split between spin::heavy and
// spin::light (-O2, no frame pointers: only CFI over the copied stack reaches
// start_thread); target_syscalls lives in read(), so its samples carry kernel
// stacks and user registers taken from the task's saved pt_regs. Last, the
// probe must be gone after stop() and after kill -9 of a sampling process.
#include <doctest/doctest.h>

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "capture/ebpf_sampler.h"
#include "child.h"
#include "symbolize/kernel_symbols.h"
#include "symbolize/symbolizer.h"
#include "target/procfs.h"
#include "target/maps.h"
#include "unwind/module_cache.h"
#include "unwind/process_view.h"
#include "unwind/unwinder.h"

using namespace sonde;
using capture::EbpfSampler;
using capture::Sample;
using capture::SamplerOptions;
using test::Child;

namespace {

struct Running {
  test::TempDir dir;
  Child child;
};

void start_target(Running& r, const char* env_name) {
  r.child = Child::spawn({test::build_path(env_name)}, r.dir.path + "/out.log");
  REQUIRE(test::wait_for_text(r.dir.path + "/out.log", "ready"));
}

// Exits 77 (meson's skip) with a loud line when this machine refuses eBPF.
// Called before any target starts (exit() would leave it running): tries
// the real thing on this very process.
void require_ebpf() {
  auto probe = EbpfSampler::start(::getpid(), SamplerOptions{.hz = 10}, nullptr);
  if (!probe && probe.error().code == ErrorCode::permission) {
    std::fprintf(stderr, "SKIPPED (needs eBPF): %s\n", probe.error().message.c_str());
    std::exit(77);
  }
  if (!probe) FAIL(probe.error().message);
}

struct Run {
  std::vector<Sample> samples;
  EbpfSampler::Stats stats;
  double seconds = 0;      // how long it sampled
  double cpu_seconds = 0;  // this process's CPU time (user + sys) meanwhile
  double node_cpu_seconds = 0;  // the node's
};

double cpu_now() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

double node_cpu(pid_t pid) {
  auto st = target::read_stat(pid);
  REQUIRE(st);
  return static_cast<double>(st->utime_ticks + st->stime_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Samples for at least `at_least`, and on until `enough` samples came in or
// `at_most` passed: on a loaded machine (other builds on the 2 cores) the
// node gets a fraction of a CPU, and the ratio needs the samples.
Run sample(pid_t pid, SamplerOptions o, std::chrono::milliseconds at_least, size_t enough = 0,
           std::chrono::milliseconds at_most = std::chrono::milliseconds(0)) {
  Run run;
  std::mutex mu;
  double cpu0 = cpu_now();
  auto t0 = std::chrono::steady_clock::now();
  auto s = EbpfSampler::start(pid, o, [&](Sample&& x) {
    std::lock_guard lock(mu);
    run.samples.push_back(std::move(x));
  });
  if (!s) FAIL(s.error().message);
  double node0 = node_cpu(pid);  // sampling runs from here on (loading took a while)
  std::this_thread::sleep_for(at_least);
  auto count = [&] {
    std::lock_guard lock(mu);
    return run.samples.size();
  };
  while (count() < enough && std::chrono::steady_clock::now() - t0 < at_most)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  run.node_cpu_seconds = node_cpu(pid) - node0;
  (*s)->stop();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.cpu_seconds = cpu_now() - cpu0;
  run.stats = (*s)->stats();
  const auto& st = run.stats;
  std::printf("%d Hz, %zu-byte stacks, %.1f s on %d CPUs: %llu samples (node CPU %.2f s x %d Hz = %.0f expected), "
              "%llu delivered, %llu dropped, %llu lost, %llu short stack copies\n"
              "  sampler CPU %.3f s (%.2f %% of one CPU); probe %.2f us per sample, %.3f %% of the node's CPU\n",
              o.hz, o.stack_bytes, run.seconds, (*s)->cpus(), static_cast<unsigned long long>(st.samples),
              run.node_cpu_seconds, o.hz, run.node_cpu_seconds * o.hz,
              static_cast<unsigned long long>(st.delivered), static_cast<unsigned long long>(st.dropped),
              static_cast<unsigned long long>(st.lost), static_cast<unsigned long long>(st.stack_short),
              run.cpu_seconds, 100.0 * run.cpu_seconds / run.seconds,
              st.samples ? static_cast<double>(st.probe_ns) / 1e3 / static_cast<double>(st.samples) : 0.0,
              run.node_cpu_seconds > 0 ? 100.0 * static_cast<double>(st.probe_ns) / 1e9 / run.node_cpu_seconds
                                       : 0.0);
  if (st.probe_runs)
    std::printf("  kernel BPF stats: %llu runs (all processes' ticks), %.0f ns per run\n",
                static_cast<unsigned long long>(st.probe_runs),
                static_cast<double>(st.probe_run_ns) / static_cast<double>(st.probe_runs));
  return run;
}

// The sample count follows the node's CPU time (the kernel's own account,
// in 10 ms ticks): within 10 % plus three standard deviations of counting.
void check_count_matches_node_cpu(const Run& run, int hz) {
  double expected = run.node_cpu_seconds * hz;
  double slack = 0.1 * expected + 3 * std::sqrt(expected) + 2;
  CHECK(static_cast<double>(run.stats.samples) > expected - slack);
  CHECK(static_cast<double>(run.stats.samples) < expected + slack);
}

// Unwinds and symbolizes samples of one process; names() gives every
// function of a sample's user stack, innermost first, inlined ones included.
struct Resolver {
  explicit Resolver(pid_t pid) : pid(pid), maps(*target::read_maps(pid)), view(pid, maps, cache) {}

  std::vector<std::string> names(const Sample& s) {
    auto stack = unwinder.unwind(s.snapshot, view);
    std::vector<std::string> out;
    for (const auto& f : stack.frames)
      for (const auto& sf : symbolizer.symbolize(pid, maps, f.pc, f.return_address))
        out.push_back(sf.function.empty() ? "?" : sf.function);
    return out;
  }

  pid_t pid;
  target::Maps maps;
  unwind::ModuleCache cache;
  unwind::ProcessView view;
  unwind::Unwinder unwinder;
  symbolize::Symbolizer symbolizer;
};

bool has(const std::vector<std::string>& names, const std::string& part) {
  for (const auto& n : names)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " <- ") + x;
  return s;
}

bool reaches_root(const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (n == "main" || n == "start_thread" || n == "clone3" || n == "__clone3") return true;
  return false;
}

// BPF program ids held through `pid`'s file descriptors (fdinfo "prog_id:"
// of bpf-prog and bpf-link fds), and how many perf events it holds.
struct HeldByFds {
  std::set<unsigned> prog_ids;
  int perf_events = 0;
  int bpf_objects = 0;
};

HeldByFds held_by_fds(pid_t pid) {
  HeldByFds h;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return h;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[256] = {};
    if (::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1) < 0) continue;
    std::string t = target;
    if (t == "anon_inode:[perf_event]") ++h.perf_events;
    if (t.rfind("anon_inode:bpf", 0) == 0) ++h.bpf_objects;
    std::string info = test::read_file("/proc/" + std::to_string(pid) + "/fdinfo/" + e->d_name);
    if (auto at = info.find("prog_id:"); at != std::string::npos)
      h.prog_ids.insert(static_cast<unsigned>(std::strtoul(info.c_str() + at + 8, nullptr, 10)));
  }
  ::closedir(d);
  return h;
}

bool prog_exists(unsigned id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::string bpftool_lines(const std::string& grep) {
  std::string cmd = "(bpftool prog show || /usr/sbin/bpftool prog show) 2>/dev/null | grep -A2 '" + grep + "'";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  return out;
}

}  // namespace

TEST_CASE("eBPF: target_spin at 999 Hz splits 75/25 with DWARF stacks to the thread's root") {
  require_ebpf();
  Running r;
  start_target(r, "SONDE_TARGET_SPIN");
  pid_t pid = r.child.pid();

  SamplerOptions o{.hz = 999, .measure_probe_cost = true};
  // 2 s give ~2000 samples on an idle machine; on a loaded one, go on until
  // 1500 (the 3-point tolerance is then over 2.5 standard deviations).
  Run run = sample(pid, o, std::chrono::seconds(2), 1500, std::chrono::seconds(10));
  REQUIRE(run.samples.size() > 500);
  check_count_matches_node_cpu(run, o.hz);
  CHECK(run.stats.lost == 0);
  CHECK(run.stats.delivered == run.samples.size());

  Resolver res(pid);
  // Warm the caches (module files, libunwind's per-ip cache, symbols), then
  // time one thread unwinding every sample, and symbolizing apart.
  for (size_t i = 0; i < 50 && i < run.samples.size(); ++i) res.names(run.samples[i]);
  auto t0 = std::chrono::steady_clock::now();
  size_t frames = 0;
  for (const auto& s : run.samples) frames += res.unwinder.unwind(s.snapshot, res.view).frames.size();
  double unwind_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("unwind: %zu samples in %.3f s on one thread = %.0f samples/s (%.1f frames each)\n",
              run.samples.size(), unwind_s, static_cast<double>(run.samples.size()) / unwind_s,
              static_cast<double>(frames) / static_cast<double>(run.samples.size()));

  int heavy = 0, light = 0, rooted = 0, other = 0;
  std::string example;
  t0 = std::chrono::steady_clock::now();
  for (const auto& s : run.samples) {
    auto names = res.names(s);
    bool h = has(names, "spin::heavy"), l = has(names, "spin::light");
    heavy += h;
    light += l;
    other += !h && !l;
    rooted += reaches_root(names);
    if (example.empty() && h) example = join(names);
    if (!reaches_root(names) && std::getenv("SONDE_TEST_VERBOSE")) std::printf("short: %s\n", join(names).c_str());
  }
  double resolve_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("unwind + symbolize: %.0f samples/s\n", static_cast<double>(run.samples.size()) / resolve_s);
  double heavy_pct = 100.0 * heavy / std::max(1, heavy + light);
  std::printf("heavy %d, light %d (%.1f %% / %.1f %%), other %d; reach main/start_thread: %d of %zu\n", heavy,
              light, heavy_pct, 100.0 - heavy_pct, other, rooted, run.samples.size());
  std::printf("e.g. %s\n", example.c_str());
  CHECK(heavy + light >= static_cast<int>(run.samples.size() * 95 / 100));
  CHECK(heavy_pct > 72.0);
  CHECK(heavy_pct < 78.0);
  CHECK(rooted >= static_cast<int>(run.samples.size() * 98 / 100));
  CHECK(has(std::vector<std::string>{example}, "spin::spin_forever"));
}

TEST_CASE("eBPF: no sample dropped at 99 Hz") {
  require_ebpf();
  Running r;
  start_target(r, "SONDE_TARGET_SPIN");
  pid_t pid = r.child.pid();
  Run run = sample(pid, SamplerOptions{.hz = 99}, std::chrono::seconds(2));
  check_count_matches_node_cpu(run, 99);
  CHECK(run.stats.dropped == 0);
  CHECK(run.stats.lost == 0);
}

TEST_CASE("eBPF: a thread busy in read() gives kernel frames and user frames from pt_regs") {
  require_ebpf();
  Running r;
  start_target(r, "SONDE_TARGET_SYSCALLS");
  pid_t pid = r.child.pid();
  Run run = sample(pid, SamplerOptions{.hz = 999}, std::chrono::seconds(1), 300, std::chrono::seconds(5));
  REQUIRE(run.samples.size() > 100);
  check_count_matches_node_cpu(run, 999);

  symbolize::KernelSymbols ksyms;
  REQUIRE(!ksyms.hidden());  // we are root
  Resolver res(pid);
  int in_kernel = 0, kernel_read = 0, user_ok = 0;
  std::string example;
  for (const auto& s : run.samples) {
    if (!s.in_kernel) continue;
    ++in_kernel;
    CHECK(!s.kernel_stack.empty());
    std::vector<std::string> knames;
    for (uint64_t a : s.kernel_stack) knames.push_back(ksyms.name(a));
    bool kread = has(knames, "read");  // read_zero, vfs_read, ksys_read, __x64_sys_read
    kernel_read += kread;
    auto unames = res.names(s);
    bool uok = has(unames, "sys_read_loop") && reaches_root(unames);
    user_ok += uok;
    if (example.empty() && kread && uok) example = join(knames) + " <- [user] " + join(unames);
  }
  std::printf("%d of %zu samples in the kernel; %d with a read function, %d whose user stack unwinds "
              "through sys_read_loop to start_thread\ne.g. %s\n",
              in_kernel, run.samples.size(), kernel_read, user_ok, example.c_str());
  CHECK(in_kernel > static_cast<int>(run.samples.size() / 2));
  CHECK(kernel_read >= in_kernel * 9 / 10);
  CHECK(user_ok >= in_kernel * 9 / 10);
}

TEST_CASE("eBPF: what a sample costs the node, by stack copy size (figures only)") {
  require_ebpf();
  Running r;
  start_target(r, "SONDE_TARGET_SPIN");
  pid_t pid = r.child.pid();
  for (size_t bytes : {4096, 16384, 32768}) {
    Run run = sample(pid, SamplerOptions{.hz = 999, .stack_bytes = bytes}, std::chrono::seconds(1));
    CHECK(run.stats.lost == 0);
  }
}

TEST_CASE("eBPF: nothing of the probe is left after stop()") {
  require_ebpf();
  Running r;
  start_target(r, "SONDE_TARGET_SPIN");
  pid_t pid = r.child.pid();
  HeldByFds before = held_by_fds(::getpid());
  auto s = EbpfSampler::start(pid, SamplerOptions{.hz = 99}, nullptr);
  REQUIRE(s);
  HeldByFds during = held_by_fds(::getpid());
  CHECK(during.perf_events - before.perf_events == (*s)->cpus());
  REQUIRE(during.prog_ids.size() == 1);
  unsigned id = *during.prog_ids.begin();
  CHECK(prog_exists(id));
  std::string listed = bpftool_lines(std::to_string(id) + ": perf_event");
  std::printf("while sampling, bpftool prog show:\n%s", listed.c_str());
  CHECK(listed.find("sonde_cpu_clock") != std::string::npos);
  (*s)->stop();
  HeldByFds after = held_by_fds(::getpid());
  CHECK(after.perf_events == before.perf_events);
  CHECK(after.bpf_objects == before.bpf_objects);
  CHECK(test::wait_until([&] { return !prog_exists(id); }, std::chrono::seconds(5)));
  CHECK(bpftool_lines(std::to_string(id) + ": perf_event").empty());
}

TEST_CASE("eBPF: kill -9 of a sampling process leaves no program and no perf event") {
  require_ebpf();
  Running r;
  start_target(r, "SONDE_TARGET_SPIN");
  pid_t pid = r.child.pid();
  // No thread of ours runs here (earlier samplers were joined), so forking
  // is safe; the child is the "agent" and dies without any cleanup.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t agent = ::fork();
  REQUIRE(agent >= 0);
  if (agent == 0) {
    ::close(ready[0]);
    auto s = EbpfSampler::start(pid, SamplerOptions{.hz = 999}, nullptr);
    char ok = s ? 'y' : 'n';
    (void)!::write(ready[1], &ok, 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char ok = 0;
  REQUIRE(::read(ready[0], &ok, 1) == 1);
  ::close(ready[0]);
  REQUIRE(ok == 'y');
  HeldByFds during = held_by_fds(agent);
  CHECK(during.perf_events >= 1);
  REQUIRE(during.prog_ids.size() == 1);
  unsigned id = *during.prog_ids.begin();
  CHECK(prog_exists(id));

  ::kill(agent, SIGKILL);
  int status = 0;
  ::waitpid(agent, &status, 0);
  // A perf event holds a reference to the program attached to it, so the
  // program's disappearance proves the events are gone too.
  CHECK(test::wait_until([&] { return !prog_exists(id); }, std::chrono::seconds(5)));
  CHECK(bpftool_lines(std::to_string(id) + ": perf_event").empty());
  CHECK(r.child.running());  // the node did not notice
}

TEST_CASE("eBPF: a sampler in a child pid namespace numbers the node as it sees it") {
  require_ebpf();
  // The agent next to a container shares the node's pid namespace (README):
  // there the node's pid is not the kernel's global one. A child of ours
  // becomes pid 1 of a new namespace, starts target_spin (pid 2 there) and
  // samples it by that pid; it reports through a pipe and all of the
  // namespace dies with its pid 1.
  std::string spin = test::build_path("SONDE_TARGET_SPIN");
  int report[2];
  REQUIRE(::pipe(report) == 0);
  pid_t outer = ::fork();
  REQUIRE(outer >= 0);
  if (outer == 0) {
    ::close(report[0]);
    if (::unshare(CLONE_NEWPID) != 0) ::_exit(3);
    pid_t init = ::fork();
    if (init != 0) {
      int st = 0;
      ::waitpid(init, &st, 0);
      ::_exit(0);
    }
    pid_t node = ::fork();
    if (node == 0) {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::execl(spin.c_str(), spin.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::usleep(300 * 1000);  // let its spinner thread start
    uint64_t samples = 0, foreign = 0;
    std::set<uint32_t> tids;
    {
      auto s = EbpfSampler::start(node, SamplerOptions{.hz = 999}, [&](Sample&& x) {
        ++samples;
        if (x.snapshot.pid != node) ++foreign;
        tids.insert(static_cast<uint32_t>(x.snapshot.tid));
      });
      if (!s) ::_exit(4);
      ::usleep(1000 * 1000);
      (*s)->stop();
    }
    uint64_t msg[4] = {static_cast<uint64_t>(node), samples, foreign,
                       tids.empty() ? 0 : static_cast<uint64_t>(*tids.rbegin())};
    (void)!::write(report[1], msg, sizeof msg);
    ::kill(node, SIGKILL);
    ::_exit(0);
  }
  ::close(report[1]);
  uint64_t msg[4] = {};
  ssize_t n = ::read(report[0], msg, sizeof msg);
  ::close(report[0]);
  int status = 0;
  ::waitpid(outer, &status, 0);
  REQUIRE(n == static_cast<ssize_t>(sizeof msg));
  std::printf("in a child pid namespace: node is pid %llu there, %llu samples, %llu of another pid, "
              "highest tid %llu\n",
              static_cast<unsigned long long>(msg[0]), static_cast<unsigned long long>(msg[1]),
              static_cast<unsigned long long>(msg[2]), static_cast<unsigned long long>(msg[3]));
  CHECK(msg[0] == 2);
  CHECK(msg[1] > 100);   // the spinner's share of one second
  CHECK(msg[2] == 0);
  CHECK(msg[3] < 10);    // thread ids of that namespace, not global ones
}

TEST_CASE("kernel symbols: names with offsets, modules, and hidden addresses") {
  test::TempDir dir;
  std::string shown = dir.path + "/kallsyms", hidden = dir.path + "/hidden";
  std::ofstream(shown) << "ffffffff81000000 T _stext\n"
                          "ffffffff81000000 T _text\n"
                          "ffffffff816d5370 T vfs_read\n"
                          "ffffffff816d5500 t ksys_read\n"
                          "ffffffff82000000 D some_data\n"
                          "ffffffffc0201000 t nft_do_chain\t[nf_tables]\n";
  std::ofstream(hidden) << "0000000000000000 T _stext\n0000000000000000 T vfs_read\n";
  symbolize::KernelSymbols k(shown);
  CHECK(!k.hidden());
  CHECK(k.size() == 5);  // data symbols are left out
  CHECK(k.name(0xffffffff816d538a) == "vfs_read+0x1a");
  CHECK(k.name(0xffffffff816d5500) == "ksys_read+0x0");
  CHECK(k.name(0xffffffff81000010) == "_stext+0x10");  // the first name listed at an address
  CHECK(k.name(0xffffffffc0201040) == "nft_do_chain+0x40 [nf_tables]");
  CHECK(k.name(0x1000) == "0x1000");
  symbolize::KernelSymbols h(hidden);
  CHECK(h.hidden());
  CHECK(h.name(0xffffffff816d538a) == "0xffffffff816d538a (kernel symbols hidden)");
  symbolize::KernelSymbols real;  // as root here: real addresses
  if (::geteuid() == 0) {
    CHECK(!real.hidden());
    CHECK(real.size() > 1000);
  }
}
