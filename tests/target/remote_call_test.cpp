// The injected call (agent/target/remote_call.h) against real processes:
// target_inject checks its own registers, FPU, signal mask, altstack and
// syscall restarts after every wake-up; remote_call_tool runs one call from
// outside and can SIGKILL itself (as `kill -9` of the agent would) at any
// phase. Every case ends with the node running, every thread untraced and
// back in its wait, and the node's self-checks clean.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>

#include <doctest/doctest.h>

#include "child.h"
#include "target/thread_choice.h"

using namespace sonde;
using namespace sonde::test;

namespace {

// target_inject's status line as numbers.
std::map<std::string, long> parse_status(const std::string& text) {
  std::map<std::string, long> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = std::atol(word.c_str() + eq + 1);
  }
  return out;
}

struct InjectNode {
  TempDir dir;
  Child child;
  std::string status_path;
  InjectNode() {
    status_path = dir.path + "/status";
    child = Child::spawn({build_path("SONDE_TARGET_INJECT"), status_path}, dir.path + "/out");
    REQUIRE(wait_for_text(status_path, "ready"));
    // Every thread parked: the waiter in read, the others in theirs.
    REQUIRE(wait_until([&] { return status()["iter"] >= 2 && status()["inalloc"] > 0; }));
  }
  std::map<std::string, long> status() { return parse_status(read_file(status_path)); }
  pid_t pid() const { return child.pid(); }
  // The waiter has run `more` more rounds and every self-check is clean.
  void check_healthy(long more = 3) {
    long from = status()["iter"];
    CHECK_MESSAGE(wait_until([&] { return status()["iter"] >= from + more; }), read_file(status_path));
    auto s = status();
    INFO(read_file(status_path));
    CHECK(s["bad"] == 0);        // registers, xmm and the read's restart
    CHECK(s["altbad"] == 0);     // signal mask and alternate stack
    CHECK(s["sleepbad"] == 0);   // the timed sleeper was never cut short
  }
};

// No thread of `pid` traced or stopped (DESIGN.md §3).
void check_untouched(pid_t pid) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string st = read_file(e.path().string() + "/status");
    CHECK_MESSAGE(st.find("TracerPid:\t0\n") != std::string::npos, e.path());
    CHECK_MESSAGE(st.find("(tracing stop)") == std::string::npos, e.path());
    CHECK_MESSAGE(st.find("(stopped)") == std::string::npos, e.path());
  }
}

// The syscall number a thread is blocked in (-1 running or gone).
long syscall_of(pid_t pid, pid_t tid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
  if (s.empty() || s.rfind("running", 0) == 0) return -1;
  return std::atol(s.c_str());
}

struct ToolRun {
  int rc = -1;
  std::string out;
};

// remote_call_tool PID ARGS...: its exit code (128+9 when it killed itself) and output.
ToolRun run_tool(pid_t pid, const std::vector<std::string>& args) {
  TempDir d;
  std::vector<std::string> argv = {build_path("SONDE_REMOTE_CALL_TOOL"), std::to_string(pid)};
  argv.insert(argv.end(), args.begin(), args.end());
  Child tool = Child::spawn(argv, d.path + "/out");
  ToolRun r;
  r.rc = tool.wait(std::chrono::seconds(60));
  r.out = read_file(d.path + "/out");
  return r;
}

long monotonic_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

}  // namespace

TEST_CASE("refusal_for_frame: the allocator's frames and the loader's locks") {
  using target::refusal_for_frame;
  CHECK(refusal_for_frame("malloc", "/usr/lib/x86_64-linux-gnu/libc.so.6").find("allocator") != std::string::npos);
  CHECK(refusal_for_frame("_int_free", "/usr/lib/x86_64-linux-gnu/libc.so.6").find("allocator") != std::string::npos);
  CHECK(refusal_for_frame("", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2").find("jemalloc") != std::string::npos);
  CHECK(refusal_for_frame("_dl_runtime_resolve_xsavec", "/lib64/ld-linux-x86-64.so.2").find("lock") !=
        std::string::npos);
  CHECK(refusal_for_frame("pthread_cond_wait", "/usr/lib/x86_64-linux-gnu/libc.so.6").empty());
  CHECK(refusal_for_frame("bioProcessBackgroundJobs", "/usr/bin/redis-server").empty());
}

TEST_CASE("a call runs on a waiting thread, gives its result through memory, and the thread comes back intact") {
  require_ptrace();
  InjectNode node;
  for (int i = 0; i < 3; ++i) {
    long before = monotonic_seconds();
    auto r = run_tool(node.pid(), {"clock_gettime", "1", "@data"});  // CLOCK_MONOTONIC into the data area
    INFO(r.out);
    REQUIRE(r.rc == 0);
    // The waiter is the only thread in a wait a frame can restart exactly.
    CHECK(r.out.find("ok tid=" + std::to_string(node.status()["waiter"]) + " calls=1") != std::string::npos);
    auto data = r.out.find("\ndata ");
    REQUIRE(data != std::string::npos);
    long sec = std::atol(r.out.c_str() + data + 6);
    CHECK(sec >= before);
    CHECK(sec <= monotonic_seconds());
    for (const char* p : {"stopped", "frame_written", "started", "returned", "restored"})
      CHECK(r.out.find(std::string("phase ") + p + "\n") != std::string::npos);
    check_untouched(node.pid());
    node.check_healthy();
  }
}

TEST_CASE("kill -9 of the agent at each phase of the call: the node runs on, the thread restores itself") {
  require_ptrace();
  InjectNode node;
  pid_t waiter = node.status()["waiter"];
  for (const char* phase : {"stopped", "frame_written", "started", "returned", "restored"}) {
    CAPTURE(phase);
    // usleep: a call that is still running when the agent dies at "started".
    auto r = run_tool(node.pid(), {"usleep", "200000", "--kill-at", phase});
    INFO(r.out);
    CHECK(r.rc == 128 + SIGKILL);
    CHECK(r.out.find(std::string("phase ") + phase + "\n") != std::string::npos);
    CHECK(r.out.find("ok tid=") == std::string::npos);
    check_untouched(node.pid());
    node.check_healthy();
    CHECK(wait_until([&] { return syscall_of(node.pid(), waiter) == 0; }));  // back in its read(2)
  }
  CHECK(node.child.running());
}

TEST_CASE("the heartbeat node keeps beating while an idle thread runs a call and the agent dies in it") {
  require_ptrace();
  TempDir dir;
  std::string report = dir.path + "/report";
  Child node = Child::spawn({build_path("SONDE_TARGET_HEARTBEAT"), report}, dir.path + "/out");
  REQUIRE(wait_for_text(dir.path + "/out", "ready"));
  auto r = run_tool(node.pid(), {"usleep", "300000", "--kill-at", "started"});
  INFO(r.out);
  CHECK(r.rc == 128 + SIGKILL);
  CHECK(r.out.find("phase started") != std::string::npos);
  check_untouched(node.pid());
  // Each report covers the time since the previous one: the window after the
  // agent's death must have ticks (the heartbeat never stopped).
  ::kill(node.pid(), SIGUSR2);
  REQUIRE(wait_for_text(report, "ticks="));
  ::unlink(report.c_str());
  ::usleep(300 * 1000);
  ::kill(node.pid(), SIGUSR2);
  REQUIRE(wait_for_text(report, "ticks="));
  std::string text = read_file(report);
  INFO(text);
  CHECK(std::atol(text.c_str() + text.find("ticks=") + 6) > 0);
  // Every idle thread (pthread_cond_wait) back in futex, the call's thread too.
  CHECK(wait_until([&] {
    int in_futex = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(node.pid()) + "/task")) {
      std::string comm = read_file(e.path().string() + "/comm");
      if (comm.rfind("idle-", 0) == 0 && syscall_of(node.pid(), std::atoi(e.path().filename().c_str())) == 202)
        ++in_futex;
    }
    return in_futex == 4;
  }));
  CHECK(node.running());
}

TEST_CASE("a node thread that exits during the call: a clear error, the rest of the node runs on") {
  require_ptrace();
  InjectNode node;
  pid_t waiter = node.status()["waiter"];
  // syscall(SYS_exit, 0) on the waiter: that one thread ends inside the call.
  auto r = run_tool(node.pid(), {"syscall", "60", "0", "--tid", std::to_string(waiter)});
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(r.out.find("exited during the call") != std::string::npos);
  CHECK(wait_until([&] { return !std::filesystem::exists("/proc/" + std::to_string(node.pid()) + "/task/" +
                                                         std::to_string(waiter)); }));
  long ticks = node.status()["ticks"];
  CHECK(wait_until([&] { return node.status()["ticks"] >= ticks + 3; }));
  check_untouched(node.pid());
  CHECK(node.child.running());
}

TEST_CASE("a call that overruns its timeout: the agent lets go, the thread finishes it and restores itself") {
  require_ptrace();
  InjectNode node;
  pid_t waiter = node.status()["waiter"];
  auto r = run_tool(node.pid(), {"usleep", "1500000", "--timeout-ms", "100"});
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(r.out.find("did not return within 100 ms") != std::string::npos);
  // Let go at once (not traced any more), while the call still runs.
  check_untouched(node.pid());
  node.check_healthy();
  CHECK(wait_until([&] { return syscall_of(node.pid(), waiter) == 0; }));
}

TEST_CASE("a refused thread choice says which thread and why") {
  require_ptrace();
  InjectNode node;
  auto s = node.status();
  auto sleeper = run_tool(node.pid(), {"clock_gettime", "1", "@data", "--tid", std::to_string(s["sleeper"])});
  INFO(sleeper.out);
  CHECK(sleeper.rc == 1);
  CHECK(sleeper.out.find("tid " + std::to_string(s["sleeper"]) + " (sleeper)") != std::string::npos);
  CHECK(sleeper.out.find("timed wait") != std::string::npos);
  CHECK(sleeper.out.find("phase started") == std::string::npos);

  auto inalloc = run_tool(node.pid(), {"clock_gettime", "1", "@data", "--tid", std::to_string(s["inalloc"])});
  INFO(inalloc.out);
  CHECK(inalloc.rc == 1);
  CHECK(inalloc.out.find("tid " + std::to_string(s["inalloc"]) + " (inalloc)") != std::string::npos);
  CHECK(inalloc.out.find("inside the allocator (malloc_parked)") != std::string::npos);
  CHECK(inalloc.out.find("phase started") == std::string::npos);

  auto gone = run_tool(node.pid(), {"clock_gettime", "1", "@data", "--tid", "999999999"});
  CHECK(gone.rc == 1);
  CHECK(gone.out.find("is not a thread of process") != std::string::npos);
  check_untouched(node.pid());
  node.check_healthy();
}
