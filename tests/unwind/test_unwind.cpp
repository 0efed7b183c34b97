// The unwinder over real captures: for each build of the chain target
// (frame pointers at -O0; -O2 without; stripped; non-PIE) every chain thread
// unwinds through chain_inner <- chain_middle <- chain_outer, from libc's
// blocking call out to the thread's first frame.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "capture/ptrace_capture.h"
#include "child.h"
#include "symbols_for_tests.h"
#include "target/maps.h"
#include "target/procfs.h"
#include "unwind/frame_pointer.h"
#include "unwind/module_cache.h"
#include "unwind/unwinder.h"

using namespace sonde;
using sonde::test::Child;

namespace {

struct Running {
  test::TempDir dir;
  Child child;
};

void start(Running& r, const std::string& exe, const std::vector<std::string>& args = {}) {
  std::vector<std::string> argv{exe};
  argv.insert(argv.end(), args.begin(), args.end());
  r.child = Child::spawn(argv, r.dir.path + "/out.log");
  REQUIRE(test::wait_for_text(r.dir.path + "/out.log", "ready"));
}

std::string thread_name(pid_t pid, pid_t tid) {
  auto comm = target::read_task_file(pid, tid, "comm");
  if (!comm) return "";
  std::string s = *comm;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// Index of the first name ending in ":fn", or -1.
long find_fn(const std::vector<std::string>& names, const std::string& fn) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].size() > fn.size() && names[i].compare(names[i].size() - fn.size() - 1, std::string::npos, ":" + fn) == 0)
      return static_cast<long>(i);
  return -1;
}

// Every thread of a running target, captured and unwound once.
struct UnwoundThread {
  pid_t tid;
  std::string name;
  unwind::UnwoundStack stack;
  std::vector<std::string> names;  // "module:function" per frame
};

std::vector<UnwoundThread> unwind_all(pid_t pid) {
  auto threads = capture::capture_process(pid);
  REQUIRE(threads);
  auto maps = target::read_maps(pid);
  REQUIRE(maps);
  unwind::ModuleCache cache;
  unwind::ProcessView view(pid, *maps, cache);
  unwind::Unwinder unwinder;
  std::vector<UnwoundThread> out;
  for (auto& t : *threads) {
    REQUIRE(t.snapshot);
    auto stack = unwinder.unwind(*t.snapshot, view);
    auto names = test::name_frames(stack.frames, *maps, pid);
    out.push_back({t.tid, thread_name(pid, t.tid), std::move(stack), std::move(names)});
  }
  return out;
}

// tests/capture/chain_program.c's builds sit in the sibling build folder.
std::string capture_program(const std::string& name) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string dir = self.substr(0, self.rfind('/'));
  return dir.substr(0, dir.rfind('/')) + "/capture/" + name;
}

void check_chain_program(const std::string& exe) {
  test::require_ptrace();
  Running r;
  const std::string& env_name = exe;
  start(r, exe);
  int chains = 0;
  for (auto& [tid, name, stack, names] : unwind_all(r.child.pid())) {
    INFO(env_name << " thread " << name << ": " << test::join(names));
    if (std::getenv("SONDE_TEST_VERBOSE")) std::printf("%s %s: %s\n", env_name.c_str(), name.c_str(), test::join(names).c_str());
    REQUIRE(!stack.frames.empty());
    CHECK(!stack.frames[0].return_address);
    for (size_t i = 1; i < stack.frames.size(); ++i) CHECK(stack.frames[i].return_address);
    // Every thread is parked in a libc call: the walk starts in libc and
    // goes all the way out (clone3's / _start's CFI ends it).
    CHECK(names[0].rfind("libc.so", 0) == 0);
    CHECK(stack.complete);
    CHECK(!stack.used_frame_pointers);  // CFI all the way, even at -O0
    if (name.rfind("chain-", 0) == 0) {
      ++chains;
      long inner = find_fn(names, "chain_inner");
      REQUIRE(inner > 0);
      CHECK(find_fn(names, "chain_middle") == inner + 1);
      CHECK(find_fn(names, "chain_outer") == inner + 2);
      CHECK(names.back().rfind("libc.so", 0) == 0);  // start_thread / clone3
      for (long i = 0; i < inner; ++i) CHECK(names[static_cast<size_t>(i)].rfind("libc.so", 0) == 0);
    } else {
      CHECK(find_fn(names, "main") > 0);
      CHECK(find_fn(names, "_start") == static_cast<long>(names.size()) - 1);
    }
  }
  CHECK(chains == 3);
}

}  // namespace

TEST_CASE("chain with frame pointers (-O0)") { check_chain_program(test::build_path("SONDE_TARGET_CHAIN_C")); }
TEST_CASE("chain without frame pointers (-O2)") { check_chain_program(test::build_path("SONDE_TARGET_CHAIN_NOFP")); }
TEST_CASE("chain, stripped (.eh_frame and .dynsym left)") {
  check_chain_program(test::build_path("SONDE_TARGET_CHAIN_STRIPPED"));
}
TEST_CASE("chain, non-PIE") { check_chain_program(capture_program("capture_chain_nopie")); }

TEST_CASE("C++ frames through libstdc++'s condition_variable") {
  test::require_ptrace();
  Running r;
  start(r, test::build_path("SONDE_TARGET_CHAIN_CPP"));
  int cpp = 0;
  for (auto& [tid, name, stack, names] : unwind_all(r.child.pid())) {
    if (name.rfind("cpp-", 0) != 0) continue;
    ++cpp;
    INFO(test::join(names));
    if (std::getenv("SONDE_TEST_VERBOSE")) std::printf("cpp: %s\n", test::join(names).c_str());
    CHECK(stack.complete);
    // Mangled names (nm without -C): block_forever <- Holder<int>::hold <- Outer::run.
    auto index_of = [&](const std::string& part) -> long {
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i].find(part) != std::string::npos) return static_cast<long>(i);
      return -1;
    };
    long block = index_of("block_forever");
    REQUIRE(block > 0);
    CHECK(index_of("HolderIiE4hold") == block + 1);
    CHECK(index_of("Outer3run") == block + 2);
    CHECK(index_of("libstdc++") >= 0);  // the std::thread start routine
  }
  CHECK(cpp == 2);
}

TEST_CASE("every address gdb's backtrace shows is in ours") {
  test::require_ptrace();
  if (std::system("gdb --version >/dev/null 2>&1") != 0) {
    MESSAGE("gdb not installed: comparison skipped");
    return;
  }
  Running r;
  start(r, test::build_path("SONDE_TARGET_CHAIN_C"));
  pid_t pid = r.child.pid();
  std::map<pid_t, std::vector<uint64_t>> ours;
  for (auto& t : unwind_all(pid))
    for (auto& f : t.stack.frames) ours[t.tid].push_back(f.pc);

  // gdb attaches after us: this also shows we left nothing attached. gdb
  // adds inlined frames (libc's debug info) and stops at main, so compare
  // the addresses it prints ("#N  0x... in f"), not the depth.
  std::string out = r.dir.path + "/gdb.txt";
  std::string cmd = "gdb -nx -batch -p " + std::to_string(pid) + " -ex 'thread apply all bt' >" + out + " 2>&1";
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(std::system(cmd.c_str()) == 0);
  double gdb_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("gdb -batch 'thread apply all bt' on 4 threads: %.0f ms\n", gdb_ms);
  INFO(test::read_file(out));
  std::map<pid_t, std::vector<uint64_t>> theirs;
  pid_t current = 0;
  std::istringstream in(test::read_file(out));
  std::string line;
  while (std::getline(in, line)) {
    if (auto at = line.find("(LWP "); line.rfind("Thread ", 0) == 0 && at != std::string::npos) {
      current = static_cast<pid_t>(std::atoi(line.c_str() + at + 5));
      continue;
    }
    unsigned long long addr = 0;
    int n = 0;
    if (current && std::sscanf(line.c_str(), "#%d %llx in ", &n, &addr) == 2) theirs[current].push_back(addr);
  }
  // Each return address we found, up to the last frame gdb shows (it stops
  // at main and start_thread's caller), is one gdb shows too. gdb also shows
  // frames that are not on the stack: inlined ones, and "tail call frames"
  // it infers from DWARF call sites (libc's futex wait jumps to its helper),
  // so the converse does not hold.
  size_t compared = 0;
  for (auto& [tid, pcs] : ours) {
    auto& g = theirs[tid];
    REQUIRE(!g.empty());
    for (size_t i = 1; i < pcs.size(); ++i) {
      INFO("thread " << tid << " frame " << i << " pc " << std::hex << pcs[i]);
      CHECK(std::find(g.begin(), g.end(), pcs[i]) != g.end());
      ++compared;
      if (pcs[i] == g.back()) break;
    }
  }
  CHECK(compared >= 12);
}

TEST_CASE("a warm unwind of the same process opens no file again") {
  test::require_ptrace();
  Running r;
  start(r, test::build_path("SONDE_TARGET_CHAIN_NOFP"));
  pid_t pid = r.child.pid();
  unwind::ModuleCache cache;
  unwind::Unwinder unwinder;
  std::vector<size_t> depths[2];
  size_t opens_after_first = 0;
  for (int round = 0; round < 2; ++round) {
    auto threads = capture::capture_process(pid);
    REQUIRE(threads);
    auto maps = target::read_maps(pid);
    REQUIRE(maps);
    unwind::ProcessView view(pid, *maps, cache);
    for (auto& t : *threads) depths[round].push_back(unwinder.unwind(*t.snapshot, view).frames.size());
    if (round == 0) opens_after_first = cache.opens();
  }
  CHECK(opens_after_first > 0);
  CHECK(cache.opens() == opens_after_first);
  CHECK(depths[0] == depths[1]);
}

TEST_CASE("frame-pointer walk stays inside the copy and goes up") {
  capture::Snapshot s;
  s.stack_start = 0x1000;
  s.stack.resize(0x100);
  auto put = [&](uint64_t addr, uint64_t v) { std::memcpy(s.stack.data() + (addr - 0x1000), &v, 8); };
  put(0x1010, 0x1040);  // frame 1: saved rbp -> frame 2
  put(0x1018, 0xaaa1);  // return address
  put(0x1040, 0x1080);
  put(0x1048, 0xaaa2);
  put(0x1080, 0);  // outermost: saved rbp 0
  put(0x1088, 0xaaa3);
  unwind::UnwoundStack out;
  unwind::walk_frame_pointers(s, 0x1010, 0x1000, 256, out);
  REQUIRE(out.frames.size() == 3);
  CHECK(out.frames[0].pc == 0xaaa1);
  CHECK(out.frames[2].pc == 0xaaa3);
  CHECK(out.complete);

  // A loop (rbp pointing down) or a pointer out of the copy ends the walk.
  put(0x1040, 0x1010);
  unwind::UnwoundStack looped;
  unwind::walk_frame_pointers(s, 0x1010, 0x1000, 256, looped);
  CHECK(looped.frames.size() == 2);
  CHECK(!looped.complete);
  unwind::UnwoundStack outside;
  unwind::walk_frame_pointers(s, 0x5000, 0x1000, 256, outside);
  CHECK(outside.frames.empty());
}

TEST_CASE("benchmark: capture + unwind of a 64-thread node, warm") {
  test::require_ptrace();
  Running r;
  start(r, test::build_path("SONDE_TARGET_THREADS"), {"64"});
  pid_t pid = r.child.pid();
  unwind::ModuleCache cache;
  unwind::Unwinder unwinder;
  double best_total = 1e9, best_capture = 1e9, best_unwind = 1e9;
  uint64_t worst_stop = 0, sum_stop = 0, stops = 0;
  size_t frames = 0;
  for (int round = 0; round < 6; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    auto threads = capture::capture_process(pid);
    auto t1 = std::chrono::steady_clock::now();
    REQUIRE(threads);
    auto maps = target::read_maps(pid);
    REQUIRE(maps);
    unwind::ProcessView view(pid, std::move(*maps), cache);
    frames = 0;
    for (auto& t : *threads) frames += unwinder.unwind(*t.snapshot, view).frames.size();
    auto t2 = std::chrono::steady_clock::now();
    if (round == 0) continue;  // cold: files opened, pages faulted in
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    best_capture = std::min(best_capture, ms(t1 - t0));
    best_unwind = std::min(best_unwind, ms(t2 - t1));
    best_total = std::min(best_total, ms(t2 - t0));
    for (auto& t : *threads) {
      worst_stop = std::max(worst_stop, t.snapshot->stopped_ns);
      sum_stop += t.snapshot->stopped_ns;
      ++stops;
    }
  }
  std::printf("BENCH 65 threads (64 + main), warm, best of 5: capture %.2f ms + unwind %.2f ms = %.2f ms; "
              "%zu frames; per-thread stop mean %.1f us, max %.1f us\n",
              best_capture, best_unwind, best_total, frames, sum_stop / 1e3 / stops, worst_stop / 1e3);
  CHECK(frames >= 65 * 5);
}
