// capture_process() against real programs: one snapshot per thread, nothing
// left stopped or traced afterwards (DESIGN.md §3), threads that vanish are
// skipped, errors say what to do.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <filesystem>
#include <fstream>
#include <thread>

#include "capture/ptrace_capture.h"
#include "child.h"
#include "target/maps.h"
#include "target/procfs.h"

using namespace sonde;
using sonde::test::Child;

namespace {

struct Target {
  test::TempDir dir;
  Child child;
};

// The build of tests/capture/chain_program.c next to this test executable
// (the shared targets have no thread churn and no non-PIE build).
std::string own_program(const std::string& name) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  return self.substr(0, self.rfind('/')) + "/" + name;
}

// Starts `argv` and waits for its "ready" line.
void start(Target& t, const std::vector<std::string>& argv) {
  t.child = Child::spawn(argv, t.dir.path + "/out.log");
  REQUIRE(test::wait_for_text(t.dir.path + "/out.log", "ready"));
}

// target_chain_c: chain-1..3 blocked in pause/read/nanosleep, main in pthread_join.
void start_chain(Target& t) { start(t, {test::build_path("SONDE_TARGET_CHAIN_C")}); }

// target_threads: n threads blocked in pthread_cond_wait.
void start_threads(Target& t, int n) { start(t, {test::build_path("SONDE_TARGET_THREADS"), std::to_string(n)}); }

// Every thread: not traced by anyone, not in a tracing stop.
void require_untouched(pid_t pid) {
  auto tids = target::list_tasks(pid);
  REQUIRE(tids);
  for (pid_t tid : *tids) {
    auto status = target::read_task_file(pid, tid, "status");
    if (!status) continue;  // exited meanwhile
    INFO("tid " << tid << "\n" << *status);
    CHECK(status->find("TracerPid:\t0\n") != std::string::npos);
    CHECK(status->find("(tracing stop)") == std::string::npos);
  }
}

void check_snapshots(pid_t pid, const std::vector<capture::ThreadResult>& threads, size_t expected) {
  auto maps = target::read_maps(pid);
  REQUIRE(maps);
  size_t ok = 0;
  for (const auto& t : threads) {
    if (!t.snapshot) {
      INFO(t.snapshot.error().message);
      CHECK(t.vanished);
      continue;
    }
    ++ok;
    const auto& s = *t.snapshot;
    CHECK(s.tid == t.tid);
    CHECK(s.pid == pid);
    CHECK(s.regs.ip() != 0);
    CHECK(s.stack_start == s.regs.sp());
    CHECK(!s.stack.empty());
    CHECK(s.stopped_ns > 0);
    const target::Mapping* m = maps->find(s.regs.sp());
    REQUIRE(m);
    CHECK(s.stack_start + s.stack.size() <= m->end);
    // Every thread of the chain program sits in a system call.
    CHECK(s.in_kernel);
  }
  CHECK(ok == expected);
}

}  // namespace

TEST_CASE("one snapshot per thread, each thread let go") {
  test::require_ptrace();
  Target t;
  start_threads(t, 8);
  auto r = capture::capture_process(t.child.pid());
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->size() == 9);  // main + t-1..8
  check_snapshots(t.child.pid(), *r, 9);
  uint64_t worst = 0, total = 0;
  for (auto& th : *r) {
    worst = std::max(worst, th.snapshot->stopped_ns);
    total += th.snapshot->stopped_ns;
  }
  std::printf("per-thread mode: %zu threads, stopped max %.1f us, mean %.1f us\n", r->size(), worst / 1e3,
              total / 1e3 / r->size());
  require_untouched(t.child.pid());
  CHECK(t.child.running());
}

TEST_CASE("consistent mode stops all, copies all, lets all go") {
  test::require_ptrace();
  Target t;
  start_threads(t, 8);
  capture::CaptureOptions o;
  o.consistent = true;
  auto r = capture::capture_process(t.child.pid(), o);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->size() == 9);
  check_snapshots(t.child.pid(), *r, 9);
  uint64_t worst = 0;
  for (auto& th : *r) worst = std::max(worst, th.snapshot->stopped_ns);
  std::printf("consistent mode: %zu threads, stopped max %.1f us\n", r->size(), worst / 1e3);
  require_untouched(t.child.pid());
}

TEST_CASE("the stack copy is capped") {
  test::require_ptrace();
  Target t;
  start_chain(t);
  capture::CaptureOptions o;
  o.max_stack_bytes = 256;
  auto r = capture::capture_process(t.child.pid(), o);
  REQUIRE(r);
  for (auto& th : *r) {
    REQUIRE(th.snapshot);
    CHECK(th.snapshot->stack.size() <= 256);
  }
  require_untouched(t.child.pid());
}

TEST_CASE("a nonexistent pid is no_node") {
  test::require_ptrace();
  pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  auto r = capture::capture_process(gone);
  REQUIRE(!r);
  CHECK(r.error().code == ErrorCode::no_node);
  auto self = capture::capture_process(::getpid());
  REQUIRE(!self);
  CHECK(self.error().code == ErrorCode::bad_request);
}

TEST_CASE("threads that come and go during captures are skipped, not fatal") {
  test::require_ptrace();
  Target t;
  start(t, {own_program("capture_chain_fp"), "3", "--churn"});
  size_t vanished = 0, captured = 0;
  for (int i = 0; i < 100; ++i) {
    auto r = capture::capture_process(t.child.pid(), capture::CaptureOptions{.consistent = (i % 2 == 1)});
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    for (auto& th : *r) {
      if (th.vanished) ++vanished;
      else if (th.snapshot) ++captured;
      else FAIL_CHECK(th.snapshot.error().message);
    }
  }
  std::printf("churn: %zu snapshots, %zu threads vanished mid-capture\n", captured, vanished);
  CHECK(captured >= 100 * 4);
  require_untouched(t.child.pid());
  CHECK(t.child.running());
}

TEST_CASE("the node killed mid-capture: an answer, no hang") {
  test::require_ptrace();
  for (int round = 0; round < 5; ++round) {
    Target t;
    start_threads(t, 64);
    pid_t pid = t.child.pid();
    std::atomic<bool> done{false};
    Result<std::vector<capture::ThreadResult>> r = fail(ErrorCode::internal, "not run");
    std::thread capturer([&] {
      r = capture::capture_process(pid);
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::microseconds(200 * round));
    ::kill(pid, SIGKILL);
    capturer.join();
    CHECK(done);
    if (r) {
      size_t vanished = 0;
      for (auto& th : *r) vanished += th.vanished;
      std::printf("killed mid-capture (round %d): %zu threads, %zu vanished\n", round, r->size(), vanished);
    } else {
      CHECK(r.error().code == ErrorCode::no_node);
      std::printf("killed mid-capture (round %d): %s\n", round, r.error().message.c_str());
    }
    // The node is our child here and the capture thread is its tracer in
    // the same process: the capture may have reaped it already.
    CHECK(test::wait_until([&] { return !t.child.running() || ::kill(pid, 0) != 0; }));
  }
}

TEST_CASE("a group-stopped node stays stopped after a capture") {
  test::require_ptrace();
  Target t;
  start_chain(t);
  pid_t pid = t.child.pid();
  ::kill(pid, SIGSTOP);
  REQUIRE(test::wait_until([&] {
    auto st = target::read_stat(pid);
    return st && st->state == 'T';
  }));
  auto r = capture::capture_process(pid, capture::CaptureOptions{.stop_timeout = std::chrono::milliseconds(300)});
  REQUIRE(r);
  for (auto& th : *r) CHECK_MESSAGE(th.snapshot, (th.snapshot ? "" : th.snapshot.error().message));
  require_untouched(pid);
  auto tids = target::list_tasks(pid);
  REQUIRE(tids);
  for (pid_t tid : *tids) {
    auto st = target::read_task_stat(pid, tid);
    REQUIRE(st);
    CHECK(st->state == 'T');  // still in its group-stop
  }
  ::kill(pid, SIGCONT);
  CHECK(test::wait_until([&] {
    auto st = target::read_stat(pid);
    return st && st->state == 'S';
  }));
}

TEST_CASE("attaching without the privilege says how to fix it") {
  test::require_ptrace();
  test::require_root("needs to drop to an unprivileged user");
  Target t;
  start_chain(t);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t worker = ::fork();
  if (worker == 0) {
    ::close(fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    auto r = capture::capture_process(t.child.pid());
    std::string msg = r ? std::string("ok") : std::string(error_code_name(r.error().code)) + ": " + r.error().message;
    (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  ::waitpid(worker, nullptr, 0);
  INFO(msg);
  CHECK(msg.rfind("permission_denied: ", 0) == 0);
  CHECK(msg.find("CAP_SYS_PTRACE") != std::string::npos);
  require_untouched(t.child.pid());
}

TEST_CASE("a node held by another tracer is a conflict, and stays held by it") {
  test::require_ptrace();
  Target t;
  start_chain(t);
  pid_t pid = t.child.pid();
  std::atomic<int> step{0};
  std::thread debugger([&] {
    // Plays gdb: holds the main thread; exiting this thread detaches it.
    step = ::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) == 0 ? 1 : -1;
    while (step != 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  REQUIRE(test::wait_until([&] { return step != 0; }));
  REQUIRE(step == 1);
  auto r = capture::capture_process(pid);
  step = 2;
  debugger.join();
  REQUIRE(!r);
  INFO(r.error().message);
  CHECK(r.error().code == ErrorCode::conflict);
  CHECK(r.error().message.find("already traced") != std::string::npos);
  require_untouched(pid);
}

TEST_CASE("a running thread is captured too, and the heartbeat barely notices") {
  test::require_ptrace();
  Target t;
  std::string report = t.dir.path + "/stall.txt";
  start(t, {test::build_path("SONDE_TARGET_HEARTBEAT"), report});
  pid_t pid = t.child.pid();
  auto read_stall = [&]() -> std::string {
    std::filesystem::remove(report);
    ::kill(pid, SIGUSR2);
    if (!test::wait_for_text(report, "max_stall_us=")) return "(no report)";
    std::string text = test::read_file(report);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  };
  read_stall();  // starts a fresh window
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string idle = read_stall();
  bool saw_running = false;
  for (int i = 0; i < 20; ++i) {
    auto r = capture::capture_process(pid, capture::CaptureOptions{.consistent = (i % 2 == 1)});
    REQUIRE(r);
    for (auto& th : *r) {
      REQUIRE(th.snapshot);
      if (!th.snapshot->in_kernel) saw_running = true;  // "busy" spins in user code
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string busy = read_stall();
  std::printf("heartbeat: idle window %s; window with 20 captures %s\n", idle.c_str(), busy.c_str());
  CHECK(saw_running);
  require_untouched(pid);
}

TEST_CASE("a thread that never reaches its stop is given up, and still let go") {
  test::require_ptrace();
  Target t;
  start(t, {own_program("capture_chain_fp"), "1", "--vfork"});
  pid_t pid = t.child.pid();
  // The vfork child shares the node's memory: end it by its pid when done.
  struct VforkChild {
    pid_t parent;
    ~VforkChild() {
      for (pid_t p : target::list_pids()) {
        auto st = target::read_stat(p);
        if (st && st->ppid == parent) ::kill(p, SIGKILL);
      }
    }
  } vfork_child{pid};
  pid_t vforker = 0;
  auto tids = target::list_tasks(pid);
  REQUIRE(tids);
  for (pid_t tid : *tids)
    if (test::read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm") == "vforker\n")
      vforker = tid;
  REQUIRE(vforker != 0);
  REQUIRE(test::wait_until([&] {
    auto st = target::read_task_stat(pid, vforker);
    return st && st->state == 'D';
  }));

  for (bool consistent : {false, true}) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = capture::capture_process(
        pid, capture::CaptureOptions{.consistent = consistent, .stop_timeout = std::chrono::milliseconds(100)});
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(r);
    size_t ok = 0;
    for (auto& th : *r) {
      if (th.tid == vforker) {
        REQUIRE(!th.snapshot);
        CHECK(!th.vanished);
        CHECK(th.snapshot.error().message.find("did not stop") != std::string::npos);
      } else {
        CHECK(th.snapshot);
        ok += th.snapshot.has_value();
      }
    }
    CHECK(ok == r->size() - 1);
    std::printf("unstoppable thread (%s): capture took %.0f ms with a 100 ms stop timeout\n",
                consistent ? "consistent" : "per-thread", ms);
    // The capture thread has exited: the kernel detached the vforker.
    require_untouched(pid);
    auto st = target::read_task_stat(pid, vforker);
    REQUIRE(st);
    CHECK(st->state == 'D');  // still in its vfork wait, untouched
  }
}

TEST_CASE("the agent killed mid-capture leaves the node running and untraced") {
  test::require_ptrace();
  Target t;
  start_threads(t, 64);
  pid_t pid = t.child.pid();
  for (int round = 0; round < 5; ++round) {
    pid_t agent = ::fork();
    if (agent == 0) {
      for (;;) (void)capture::capture_process(pid, capture::CaptureOptions{.consistent = (round % 2 == 1)});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + 7 * round));
    ::kill(agent, SIGKILL);
    ::waitpid(agent, nullptr, 0);
    require_untouched(pid);
    auto tids = target::list_tasks(pid);
    REQUIRE(tids);
    for (pid_t tid : *tids) {
      auto st = target::read_task_stat(pid, tid);
      if (st) CHECK(st->state != 't');
    }
  }
  CHECK(t.child.running());
}
