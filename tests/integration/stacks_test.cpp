// Stack dumps end to end: the agent's route, the one-shot CLI, SIGUSR1, and
// the node left exactly as it was (ptrace suite: runs as root in CI).
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "agent_process.h"
#include "redis.h"

using namespace sonde;
using namespace sonde::test;

namespace {

struct Target {
  TempDir dir;
  Child child;
  explicit Target(const std::string& env_name, std::vector<std::string> args = {}) {
    std::vector<std::string> argv{build_path(env_name)};
    argv.insert(argv.end(), args.begin(), args.end());
    child = Child::spawn(argv, dir.path + "/out");
    REQUIRE(wait_for_text(dir.path + "/out", "ready"));
  }
};

// Function names of one thread's frames (innermost first), from the JSON dump.
std::map<std::string, std::vector<std::string>> functions_by_thread(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE_FALSE(d.HasParseError());
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& t : d["threads"].GetArray()) {
    auto& fns = out[t["name"].GetString()];
    for (const auto& f : t["frames"].GetArray()) fns.push_back(f.HasMember("function") ? f["function"].GetString() : "??");
  }
  return out;
}

// The positions of `wanted` in `fns`, in order; empty if any is missing or out of order.
bool in_order(const std::vector<std::string>& fns, const std::vector<std::string>& wanted) {
  size_t at = 0;
  for (const auto& w : wanted) {
    auto it = std::find_if(fns.begin() + static_cast<long>(at), fns.end(),
                           [&](const std::string& f) { return f.find(w) != std::string::npos; });
    if (it == fns.end()) return false;
    at = static_cast<size_t>(it - fns.begin()) + 1;
  }
  return true;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += x + " | ";
  return s;
}

// No thread of pid is traced or in a tracing stop.
void check_untouched(pid_t pid) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string status = read_file(e.path().string() + "/status");
    CHECK_MESSAGE(status.find("TracerPid:\t0\n") != std::string::npos, e.path());
    CHECK_MESSAGE(status.find("(tracing stop)") == std::string::npos, e.path());
  }
}

}  // namespace

TEST_CASE("the stacktrace route names every frame of the C chain, in order, with file:line") {
  require_ptrace();
  Target node("SONDE_TARGET_CHAIN_C");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  auto r = agent.get("/api/status/stacktrace?format=json");
  REQUIRE(r.status == 200);
  auto threads = functions_by_thread(r.body);
  for (const char* name : {"chain-1", "chain-2", "chain-3"}) {
    CAPTURE(name);
    INFO(join(threads[name]));
    CHECK(in_order(threads[name], {"chain_inner", "chain_middle", "chain_outer", "chain_thread", "start_thread"}));
  }
  CHECK(in_order(threads["target_chain_c"], {"main"}));
  // File and line for the -g build, module of the blocking call is libc, stopped_us set.
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  CHECK(std::string(d["mode"].GetString()) == "per-thread");
  bool saw_line = false, saw_libc = false;
  for (const auto& t : d["threads"].GetArray()) {
    CHECK(t.HasMember("stopped_us"));
    for (const auto& f : t["frames"].GetArray()) {
      std::string fn = f.HasMember("function") ? f["function"].GetString() : "";
      if (fn == "chain_middle") {
        saw_line = f.HasMember("line") && f["line"].GetInt() > 0 &&
                   std::string(f["file"].GetString()).find("chain.c") != std::string::npos;
      }
      if (std::string(f["module"].GetString()).find("libc.so") != std::string::npos) saw_libc = true;
    }
  }
  CHECK(saw_line);
  CHECK(saw_libc);
  check_untouched(node.child.pid());

  auto text = agent.get("/api/status/stacktrace?format=text");
  CHECK(text.status == 200);
  CHECK(text.body.find("chain_inner") != std::string::npos);
  auto html = agent.get("/api/status/stacktrace");
  CHECK(html.status == 200);
  CHECK(html.body.find("<html") != std::string::npos);
  CHECK(html.body.find("chain_middle") != std::string::npos);
  auto consistent = agent.get("/api/status/stacktrace?format=json&consistent=true");
  CHECK(consistent.body.find("\"mode\":\"consistent\"") != std::string::npos);
  CHECK(agent.get("/api/status/stacktrace?format=pdf").status == 400);
  CHECK(agent.get("/api/status/stacktrace?consistent=maybe").status == 400);
  check_untouched(node.child.pid());
}

TEST_CASE("frames in binaries without frame pointers, stripped to .dynsym, and C++ with inlines") {
  require_ptrace();
  for (const char* env : {"SONDE_TARGET_CHAIN_NOFP", "SONDE_TARGET_CHAIN_STRIPPED"}) {
    CAPTURE(env);
    Target node(env);
    std::string out, err;
    REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--format", "json"}, &out, &err) == 0);
    auto threads = functions_by_thread(out);
    INFO(join(threads["chain-2"]));
    CHECK(in_order(threads["chain-2"], {"read", "chain_inner", "chain_middle", "chain_outer", "chain_thread"}));
  }
  Target cpp("SONDE_TARGET_CHAIN_CPP");
  std::string out, err;
  REQUIRE(run_sonde({"stacks", "--pid", std::to_string(cpp.child.pid()), "--format", "json"}, &out, &err) == 0);
  auto threads = functions_by_thread(out);
  INFO(join(threads["cpp-1"]));
  CHECK(in_order(threads["cpp-1"], {"sonde_targets::deep::block_forever", "sonde_targets::deep::park_inline",
                                    "sonde_targets::deep::Holder<int>::hold(int)", "sonde_targets::deep::Outer::run"}));
  CHECK(out.find("\"inlined\":true") != std::string::npos);
}

TEST_CASE("our function sequence agrees with gdb's on the same blocked target") {
  require_ptrace();
  Target node("SONDE_TARGET_CHAIN_NOFP");
  std::string ours, err;
  REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--format", "json"}, &ours, &err) == 0);
  auto threads = functions_by_thread(ours);
  // gdb's frames of each chain thread, reduced to the target's own functions.
  std::string gdb_out = node.dir.path + "/gdb.out";
  std::string cmd = "timeout 60 gdb -q -nx -batch -p " + std::to_string(node.child.pid()) +
                    " -ex 'thread apply all bt' >" + gdb_out + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::istringstream in(read_file(gdb_out));
  std::string line, thread;
  std::map<std::string, std::vector<std::string>> gdb;
  std::regex thread_re(R"(^Thread \S+ \(Thread 0x[0-9a-f]+ \(LWP (\d+)\) \"([^\"]+)\"\))");
  std::regex frame_re(R"(^#\d+\s+(?:0x[0-9a-f]+ in )?(\w+) )");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, thread_re)) thread = m[2];
    else if (std::regex_search(line, m, frame_re) && std::string(m[1]).rfind("chain_", 0) == 0) gdb[thread].push_back(m[1]);
  }
  for (const char* name : {"chain-1", "chain-2", "chain-3"}) {
    CAPTURE(name);
    std::vector<std::string> mine;
    for (auto& f : threads[name])
      if (f.rfind("chain_", 0) == 0) mine.push_back(f);
    CHECK(mine == gdb[name]);
    CHECK(mine.size() == 4);
  }
}

TEST_CASE("redis-server from Debian: the main thread in aeMain/epoll_wait, background threads by name") {
  require_ptrace();
  RedisServer::require();
  RedisServer redis;
  REQUIRE(redis.ready());
  // Give its background threads time to reach their waits.
  REQUIRE(wait_until([&] { return read_file("/proc/" + std::to_string(redis.pid()) + "/status").find("Threads:\t5") != std::string::npos; }));
  std::string out, err;
  REQUIRE(run_sonde({"stacks", "--pid", std::to_string(redis.pid()), "--format", "json"}, &out, &err) == 0);
  auto threads = functions_by_thread(out);
  INFO(out.substr(0, 4000));
  // Debian strips redis-server to .dynsym: the static aeProcessEvents has no
  // name there (gdb shows ?? too), so its frame is an address between the two.
  CHECK(in_order(threads["redis-server"], {"epoll_wait", "aeMain", "main", "__libc_start_main", "_start"}));
  auto& main_fns = threads["redis-server"];
  auto ae = std::find(main_fns.begin(), main_fns.end(), "aeMain");
  REQUIRE(ae != main_fns.end());
  CHECK((*(ae - 1) == "aeProcessEvents" || *(ae - 1) == "??"));
  CHECK(threads.count("bio_close_file") == 1);
  CHECK(threads.count("bio_aof") + threads.count("bio_aof_fsync") == 1);
  CHECK(threads.count("bio_lazy_free") == 1);
  CHECK(threads.count("jemalloc_bg_thd") == 1);
  check_untouched(redis.pid());
}

TEST_CASE("SIGUSR1 writes stacktrace.html into the logs folder and rotates the earlier ones") {
  require_ptrace();
  Target node("SONDE_TARGET_CHAIN_C");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}, {"--stacktrace-keep", "2"}));
  std::string page = agent.logs + "/stacktrace.html";
  for (int i = 1; i <= 4; ++i) {
    ::kill(agent.child.pid(), SIGUSR1);
    // Each signal adds a line; wait for the i-th.
    REQUIRE(wait_until([&] {
      std::string log = read_file(agent.logs + "/sonde.log");
      size_t n = 0;
      for (size_t at = 0; (at = log.find("SIGUSR1: wrote", at)) != std::string::npos; ++at) ++n;
      return n >= static_cast<size_t>(i);
    }));
  }
  CHECK(read_file(page).find("chain_inner") != std::string::npos);
  CHECK(::access((page + ".1").c_str(), F_OK) == 0);
  CHECK(::access((page + ".2").c_str(), F_OK) == 0);
  CHECK(::access((page + ".3").c_str(), F_OK) != 0);  // keep=2
  check_untouched(node.child.pid());
}

TEST_CASE("node routes answer 503 once the node is gone; the agent stays up") {
  require_ptrace();
  Target node("SONDE_TARGET_CHAIN_C");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  CHECK(agent.get("/api/status/stacktrace?format=json").status == 200);
  node.child.stop(SIGKILL);
  CHECK(wait_until([&] { return agent.get("/api/status/stacktrace?format=json").status == 503; }));
  CHECK(agent.get("/api/status/stacktrace").body.find("node_unavailable") != std::string::npos);
  CHECK(agent.get("/api/health").status == 200);
}

TEST_CASE("sonde stacks: one shot and through the agent give the same threads; a refused attach says how to fix it") {
  require_ptrace();
  Target node("SONDE_TARGET_CHAIN_C");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  std::string local, remote, err;
  REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid())}, &local, &err) == 0);
  REQUIRE(run_sonde({"stacks", "--socket", agent.socket}, &remote, &err) == 0);
  for (const auto* out : {&local, &remote}) {
    for (const char* name : {"chain-1", "chain-2", "chain-3"}) CHECK(out->find(name) != std::string::npos);
    CHECK(out->find("chain_inner") != std::string::npos);
  }
  CHECK(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--format", "yaml"}, &local, &err) == 2);
  // --no-lines: the same functions, no file:line (no DWARF read), like eu-stack -p.
  std::string names;
  REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--format", "json", "--no-lines"}, &names, &err) == 0);
  CHECK(in_order(functions_by_thread(names)["chain-2"], {"chain_inner", "chain_middle", "chain_outer"}));
  CHECK(names.find("\"line\"") == std::string::npos);
  CHECK(remote.find("chain.c:") != std::string::npos);
  // Not root, no capability: the message names the fix.
  if (::system("command -v setpriv >/dev/null") == 0) {
    std::string cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " + build_path("SONDE_BIN") +
                      " stacks --pid " + std::to_string(node.child.pid()) + " >/dev/null 2>" + node.dir.path + "/err";
    int rc = std::system(cmd.c_str());
    CHECK(WEXITSTATUS(rc) == 1);
    std::string msg = read_file(node.dir.path + "/err");
    CHECK(msg.find("CAP_SYS_PTRACE") != std::string::npos);
  }
  check_untouched(node.child.pid());
}

TEST_CASE("the heartbeat thread's longest stall while stacks are taken is reported") {
  require_ptrace();
  TempDir tmp;
  std::string report = tmp.path + "/hb";
  Child node = Child::spawn({build_path("SONDE_TARGET_HEARTBEAT"), report}, tmp.path + "/out");
  REQUIRE(wait_for_text(tmp.path + "/out", "ready"));
  // A baseline window, then a window with 20 dumps: both printed (no absolute
  // time is asserted: this machine is noisy), and the node left untouched.
  auto window = [&] {
    std::filesystem::remove(report);
    ::kill(node.pid(), SIGUSR2);
    REQUIRE(wait_until([&] { return read_file(report).find("max_stall_us=") != std::string::npos; }));
    return read_file(report);
  };
  window();
  ::usleep(300000);
  std::string idle = window();
  for (int i = 0; i < 20; ++i) {
    std::string out, err;
    REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.pid()), "--format", "json"}, &out, &err) == 0);
  }
  std::string busy = window();
  MESSAGE("heartbeat idle: " << idle << "heartbeat with 20 dumps: " << busy);
  check_untouched(node.pid());
  CHECK(node.running());
}

namespace {
// Sends a request on the unix socket and returns the connected fd (the caller closes it).
int send_request(const std::string& socket_path, const std::string& target) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", socket_path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  return fd;
}
}  // namespace

TEST_CASE("kill -9 of the agent mid-capture, and clients hanging up, leave no thread stopped or traced") {
  require_ptrace();
  Target node("SONDE_TARGET_THREADS", {"256"});
  for (int round = 0; round < 8; ++round) {
    CAPTURE(round);
    AgentProcess agent;
    REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
    int fd = send_request(agent.socket, "/api/status/stacktrace?format=json" +
                                            std::string(round % 2 ? "&consistent=true" : ""));
    REQUIRE(fd >= 0);
    ::usleep(static_cast<useconds_t>(1000 + round * 1500));  // land inside the capture at different points
    agent.child.kill_now();
    ::close(fd);
    // The kernel detaches a dead tracer's tracees; nothing may stay stopped.
    CHECK(wait_until([&] {
      for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(node.child.pid()) + "/task")) {
        std::string st = read_file(e.path().string() + "/status");
        if (st.find("TracerPid:\t0\n") == std::string::npos || st.find("(tracing stop)") != std::string::npos) return false;
      }
      return true;
    }, std::chrono::seconds(5)));
    CHECK(node.child.running());
  }
  // A client that hangs up right after asking: the capture finishes, the agent goes on.
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  for (int i = 0; i < 5; ++i) ::close(send_request(agent.socket, "/api/status/stacktrace?format=html"));
  CHECK(wait_until([&] { return agent.get("/api/status/stacktrace?format=json").status == 200; }));
  check_untouched(node.child.pid());
}
