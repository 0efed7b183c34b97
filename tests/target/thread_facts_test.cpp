// Thread facts read from /proc without stopping anything: a forked child of
// the test blocked in read on a pipe with a thread in nanosleep, and the
// shared target_chain_c (pause / read on a pipe / nanosleep / futex).
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <vector>

#include <doctest/doctest.h>

#include "child.h"
#include "target/procfs.h"
#include "target/thread_facts.h"

using sonde::target::decode_syscall;
using sonde::target::read_thread_facts;
using sonde::target::ThreadFacts;

namespace {

// A forked child, killed and reaped when the test ends.
struct Forked {
  pid_t pid = -1;
  ~Forked() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

void* sleeper(void*) {
  ::prctl(PR_SET_NAME, "facts-sleep");
  struct timespec hour = {3600, 0};
  for (;;) ::nanosleep(&hour, nullptr);
  return nullptr;
}

// Facts of the threads of pid by name, once every name in `names` is there
// and blocked in a system call (polled: threads park, and a new thread
// carries its creator's name until it renames itself).
std::map<std::string, ThreadFacts> parked_threads(pid_t pid, const std::vector<std::string>& names) {
  std::map<std::string, ThreadFacts> by_name;
  bool ok = sonde::test::wait_until([&] {
    by_name.clear();
    auto tids = sonde::target::list_tasks(pid);
    if (!tids) return false;
    for (pid_t tid : *tids)
      if (auto f = read_thread_facts(pid, tid)) by_name[f->name] = *f;
    for (const auto& name : names) {
      auto it = by_name.find(name);
      if (it == by_name.end() || it->second.state != 'S' || it->second.syscall_nr < 0) return false;
      // Root also reads wchan, which a thread shows only once it is asleep: its facts are read
      // one file after another, so one pass can catch it on its way into the wait.
      if (::geteuid() == 0 && it->second.wchan.empty()) return false;
    }
    return true;
  });
  REQUIRE(ok);
  return by_name;
}

bool starts_with(const std::string& s, const std::string& head) { return s.rfind(head, 0) == 0; }

}  // namespace

TEST_CASE("decode /proc/PID/task/TID/syscall lines") {
  auto none = [](long) { return std::string(); };
  auto pipe3 = [](long fd) { return fd == 3 ? std::string("pipe:[1234]") : std::string(); };
  CHECK(decode_syscall("running\n", none).wait == "running");
  auto not_in = decode_syscall("-1 0x7ffd1 0x7f12\n", none);
  CHECK(not_in.nr == -1);
  CHECK(not_in.wait.empty());
  auto read = decode_syscall(std::to_string(SYS_read) + " 0x3 0x7ffc 0x1 0x0 0x0 0x0 0x7ffd 0x7f12", pipe3);
  CHECK(read.nr == SYS_read);
  CHECK(read.name == "read");
  CHECK(read.wait == "read on fd 3 (pipe:[1234])");
  auto futex = decode_syscall(std::to_string(SYS_futex) + " 0x55d0 0x80 0x2 0x0 0x0 0x0 0x7ffd 0x7f12", none);
  CHECK(futex.wait == "futex wait");  // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
  auto bitset = decode_syscall(std::to_string(SYS_futex) + " 0x55d0 0x189 0x0 0x0 0x0 0xffffffff 0x1 0x2", none);
  CHECK(bitset.wait == "futex wait");  // FUTEX_WAIT_BITSET | PRIVATE | CLOCK_REALTIME
  auto epoll = decode_syscall(std::to_string(SYS_epoll_pwait) + " 0x5 0x7ffc 0x10 0xffffffff 0x0 0x8 0x1 0x2",
                              [](long fd) { return fd == 5 ? std::string("anon_inode:[eventpoll]") : ""; });
  CHECK(epoll.wait == "epoll_pwait on fd 5 (anon_inode:[eventpoll])");
  CHECK(decode_syscall(std::to_string(SYS_accept4) + " 0x7 0x0 0x0 0x80800 0x0 0x0 0x1 0x2", none).wait ==
        "accept4 on fd 7");
  CHECK(decode_syscall(std::to_string(SYS_wait4) + " 0xffffffff 0x0 0x0 0x0 0x0 0x0 0x1 0x2", none).wait ==
        "wait4 for a child");
  CHECK(decode_syscall(std::to_string(SYS_clock_nanosleep) + " 0x0 0x0 0x7ffc 0x7ffc 0x0 0x0 0x1 0x2", none)
            .wait == "clock_nanosleep");
  CHECK(decode_syscall("999 0x0 0x0 0x0 0x0 0x0 0x0 0x1 0x2", none).wait == "syscall 999");
}

TEST_CASE("state names") {
  CHECK(sonde::target::state_name('S') == "sleeping");
  CHECK(sonde::target::state_name('D') == "disk sleep");
  CHECK(sonde::target::state_name('R') == "running");
  CHECK(sonde::target::state_name('t') == "tracing stop");
}

TEST_CASE("a child blocked in read on a pipe, and its thread in nanosleep") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  struct stat pipe_stat {};
  REQUIRE(::fstat(fds[0], &pipe_stat) == 0);
  Forked child;
  child.pid = ::fork();
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    ::prctl(PR_SET_NAME, "facts-main");
    pthread_t t;
    ::pthread_create(&t, nullptr, sleeper, nullptr);
    char byte;
    for (;;) ::read(fds[0], &byte, 1);  // the parent never writes
  }
  auto threads = parked_threads(child.pid, {"facts-main", "facts-sleep"});
  REQUIRE(threads.count("facts-main"));
  REQUIRE(threads.count("facts-sleep"));

  const auto& main = threads["facts-main"];
  CHECK(main.tid == child.pid);
  CHECK(main.state == 'S');
  CHECK(main.state_name == "sleeping");
  CHECK(main.syscall_nr == SYS_read);
  CHECK(main.syscall_name == "read");
  CHECK(main.wait == "read on fd " + std::to_string(fds[0]) + " (pipe:[" +
                         std::to_string(pipe_stat.st_ino) + "])");
  CHECK(main.cpu_user_s >= 0);
  CHECK(main.cpu_system_s >= 0);

  const auto& sleep = threads["facts-sleep"];
  CHECK(sleep.tid != child.pid);
  // glibc's nanosleep() is the clock_nanosleep system call.
  CHECK((sleep.wait == "clock_nanosleep" || sleep.wait == "nanosleep"));

  if (::geteuid() == 0) {
    // Root reads the kernel stack: the sleeper is in the hrtimer sleep.
    REQUIRE_FALSE(sleep.kernel_stack.empty());
    bool in_sleep = false;
    for (const auto& f : sleep.kernel_stack) in_sleep |= f.find("nanosleep") != std::string::npos;
    CHECK(in_sleep);
    CHECK_FALSE(sleep.wchan.empty());
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("a thread that is gone is an error that says so") {
  Forked child;
  child.pid = ::fork();
  if (child.pid == 0) ::_exit(0);
  ::waitpid(child.pid, nullptr, 0);
  auto facts = read_thread_facts(child.pid, child.pid);
  child.pid = -1;
  REQUIRE_FALSE(facts.has_value());
  CHECK(facts.error().code == sonde::ErrorCode::no_node);
}

TEST_CASE("target_chain_c: pause, read on a pipe, nanosleep, futex in pthread_join") {
  const std::string exe = sonde::test::build_path("SONDE_TARGET_CHAIN_C");
  sonde::test::TempDir dir;
  auto child = sonde::test::Child::spawn({exe}, dir.path + "/log");
  REQUIRE(sonde::test::wait_for_text(dir.path + "/log", "ready"));
  auto threads = parked_threads(child.pid(), {"target_chain_c", "chain-1", "chain-2", "chain-3"});
  REQUIRE(threads.count("chain-1"));
  REQUIRE(threads.count("chain-2"));
  REQUIRE(threads.count("chain-3"));
  CHECK(threads["chain-1"].wait == "pause");
  CHECK(starts_with(threads["chain-2"].wait, "read on fd "));
  CHECK(threads["chain-2"].wait.find("(pipe:[") != std::string::npos);
  CHECK((threads["chain-3"].wait == "clock_nanosleep" || threads["chain-3"].wait == "nanosleep"));
  CHECK(threads["target_chain_c"].wait == "futex wait");  // main, in pthread_join
}
