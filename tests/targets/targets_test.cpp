// The test targets and the demo node behave as the other tests assume: they
// start, say "ready", have the named threads, and exit 0 on SIGTERM.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <doctest/doctest.h>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "child.h"

using namespace std::chrono_literals;
using sonde::test::Child;

namespace {

// The command name (comm) of every thread of `pid`, with how many threads have it.
std::map<std::string, int> thread_names(pid_t pid) {
  std::map<std::string, int> names;
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string comm = sonde::test::read_file(task + "/" + e->d_name + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    ++names[comm];
  }
  ::closedir(d);
  return names;
}

bool has_threads(pid_t pid, const std::vector<std::string>& expected) {
  auto names = thread_names(pid);
  for (auto& n : expected)
    if (names.count(n) == 0) return false;
  return true;
}

struct Started {
  sonde::test::TempDir dir;
  std::string log;
  Child child;
};

// Starts a target with its output in a log file and waits for `ready_text`.
void start(Started& s, const std::vector<std::string>& argv, const std::string& ready_text = "ready\n") {
  s.log = s.dir.path + "/out.log";
  s.child = Child::spawn(argv, s.log);
  bool ready = sonde::test::wait_for_text(s.log, ready_text, 10s);
  INFO("output: " << sonde::test::read_file(s.log));
  REQUIRE(ready);
}

// Starts, checks names, stops with SIGTERM: the common life of every target.
void check_target(const std::string& env_name, const std::vector<std::string>& args,
                  const std::vector<std::string>& threads) {
  Started s;
  std::vector<std::string> argv{sonde::test::build_path(env_name)};
  argv.insert(argv.end(), args.begin(), args.end());
  start(s, argv);
  // The names are set before "ready", so no waiting is needed here.
  INFO(env_name);
  CHECK(has_threads(s.child.pid(), threads));
  CHECK(s.child.stop(SIGTERM, 5s) == 0);
}

// One blocking HTTP/1.1 request with Connection: close; the status code, or -1
// when the server closed without answering or did not answer within `timeout`.
int http_status(int port, const std::string& method, const std::string& target,
                std::chrono::milliseconds timeout = 5s) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    "Content-Length: 0\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12) return -1;
  return std::stoi(reply.substr(9, 3));
}

}  // namespace

TEST_CASE("target_chain_c, _nofp, _stripped: three parked chains") {
  for (auto env : {"SONDE_TARGET_CHAIN_C", "SONDE_TARGET_CHAIN_NOFP", "SONDE_TARGET_CHAIN_STRIPPED"})
    check_target(env, {}, {"chain-1", "chain-2", "chain-3"});
}

TEST_CASE("target_chain_stripped has no .symtab but exports chain_inner") {
  // Section names live in .shstrtab, symbol names in .dynstr: a byte search is enough.
  std::string elf = sonde::test::read_file(sonde::test::build_path("SONDE_TARGET_CHAIN_STRIPPED"));
  REQUIRE(elf.rfind("\x7f" "ELF", 0) == 0);
  CHECK(elf.find(".symtab") == std::string::npos);
  CHECK(elf.find(".debug_info") == std::string::npos);
  CHECK(elf.find(".dynsym") != std::string::npos);
  CHECK(elf.find("chain_inner") != std::string::npos);
  CHECK(elf.find("chain_outer") != std::string::npos);
}

TEST_CASE("target_chain_cpp: two threads in the template chain") {
  check_target("SONDE_TARGET_CHAIN_CPP", {}, {"cpp-1", "cpp-2"});
}

TEST_CASE("target_threads: N named threads") {
  check_target("SONDE_TARGET_THREADS", {}, {"t-1", "t-32", "t-64"});
  Started s;
  start(s, {sonde::test::build_path("SONDE_TARGET_THREADS"), "256"});
  CHECK(thread_names(s.child.pid()).size() == 257);  // 256 named + main
  CHECK(has_threads(s.child.pid(), {"t-1", "t-256"}));
  CHECK(s.child.stop(SIGTERM, 5s) == 0);
}

TEST_CASE("target_spin and target_syscalls: running threads") {
  check_target("SONDE_TARGET_SPIN", {}, {"spinner"});
  check_target("SONDE_TARGET_SYSCALLS", {}, {"sys-busy"});
}

TEST_CASE("target_heartbeat: reports the stall on SIGUSR2") {
  Started s;
  std::string report = s.dir.path + "/heartbeat.txt";
  start(s, {sonde::test::build_path("SONDE_TARGET_HEARTBEAT"), report});
  CHECK(has_threads(s.child.pid(), {"heartbeat", "busy", "idle-1", "idle-2", "idle-3", "idle-4"}));
  std::this_thread::sleep_for(50ms);
  ::kill(s.child.pid(), SIGUSR2);
  REQUIRE(sonde::test::wait_for_text(report, "max_stall_us=", 5s));
  std::string line = sonde::test::read_file(report);
  INFO(line);
  CHECK(line.find(" ticks=") != std::string::npos);
  CHECK(line.back() == '\n');
  CHECK(line.find("ticks=0\n") == std::string::npos);  // 50 ms at 1 kHz: some ticks
  CHECK(s.child.stop(SIGTERM, 5s) == 0);
}

TEST_CASE("sonde-demo-node: threads, health modes, clean stop") {
  int port = sonde::test::free_port();
  Started s;
  std::string demo = sonde::test::build_path("SONDE_DEMO_NODE");
  start(s, {demo, "--port", std::to_string(port)}, " port=" + std::to_string(port) + "\n");
  std::string out = sonde::test::read_file(s.log);
  CHECK(out.rfind("sonde-demo-node ready pid=" + std::to_string(s.child.pid()) + " port=", 0) == 0);
  CHECK(has_threads(s.child.pid(), {"hot-spot", "malloc-churn", "worker-1", "worker-2",
                                    "worker-3", "worker-4", "http"}));

  CHECK(http_status(port, "GET", "/api/health") == 200);
  CHECK(http_status(port, "GET", "/no/such/path") == 404);
  CHECK(http_status(port, "POST", "/demo/health?mode=bogus") == 400);
  CHECK(http_status(port, "POST", "/demo/health?mode=error") == 200);
  CHECK(http_status(port, "GET", "/api/health") == 500);
  CHECK(http_status(port, "POST", "/demo/health?mode=close") == 200);
  CHECK(http_status(port, "GET", "/api/health") == -1);

  // hang: the request waits, other connections still work, and it answers
  // once the mode changes.
  CHECK(http_status(port, "POST", "/demo/health?mode=hang") == 200);
  auto hung = std::async(std::launch::async, [port] { return http_status(port, "GET", "/api/health"); });
  CHECK(hung.wait_for(300ms) == std::future_status::timeout);
  CHECK(http_status(port, "POST", "/demo/health?mode=ok") == 200);
  REQUIRE(hung.wait_for(5s) == std::future_status::ready);
  CHECK(hung.get() == 200);
  CHECK(http_status(port, "GET", "/api/health") == 200);

  // A request left hanging must not delay the stop.
  CHECK(http_status(port, "POST", "/demo/health?mode=hang") == 200);
  auto pending = std::async(std::launch::async, [port] { return http_status(port, "GET", "/api/health"); });
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(s.child.stop(SIGTERM, 2s) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(pending.get() == -1);
}

TEST_CASE("sonde-demo-node: a taken port is one clear error, exit 2") {
  Started first;
  int port = sonde::test::free_port();
  std::string demo = sonde::test::build_path("SONDE_DEMO_NODE");
  start(first, {demo, "--port", std::to_string(port)}, "ready pid=");
  Started second;
  second.log = second.dir.path + "/out.log";
  second.child = Child::spawn({demo, "--port", std::to_string(port)}, second.log);
  CHECK(second.child.wait(5s) == 2);
  std::string err = sonde::test::read_file(second.log);
  INFO(err);
  CHECK(err.find("cannot listen on 127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(first.child.stop(SIGTERM, 2s) == 0);
}

TEST_CASE("sonde-demo-node --port 0 runs without HTTP") {
  Started s;
  start(s, {sonde::test::build_path("SONDE_DEMO_NODE"), "--port", "0"}, "port=0\n");
  CHECK(thread_names(s.child.pid()).count("http") == 0);
  CHECK(s.child.stop(SIGTERM, 2s) == 0);
}
