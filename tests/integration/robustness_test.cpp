// What bad clients, bad disks and a changing node do to a real agent: it
// answers each with an error at most, and stays up.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <rapidjson/document.h>

#include "agent_process.h"

using namespace sonde;
using namespace sonde::test;

namespace {

int connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

int connect_tcp(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends bytes on a fresh socket connection and reads until the agent closes
// or `until` appears in what it sent back.
std::string send_and_read(const std::string& socket, const std::string& bytes, const std::string& until = "") {
  int fd = connect_unix(socket);
  if (fd < 0) return "";
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((until.empty() || out.find(until) == std::string::npos) && (n = ::recv(fd, buf, sizeof buf, 0)) > 0)
    out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// thread name -> function names, innermost first, from the JSON stack dump.
std::map<std::string, std::vector<std::string>> functions_by_thread(const std::string& json) {
  std::map<std::string, std::vector<std::string>> out;
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("threads")) return out;
  for (const auto& t : d["threads"].GetArray()) {
    auto& fns = out[t["name"].GetString()];
    for (const auto& f : t["frames"].GetArray()) fns.push_back(f.HasMember("function") ? f["function"].GetString() : "?");
  }
  return out;
}

Child start_node(const std::string& binary, const std::string& log) {
  Child c = Child::spawn({binary, "robustness-node"}, log);
  REQUIRE(wait_for_text(log, "ready"));
  return c;
}

}  // namespace

TEST_CASE("1,000 connections opened and abandoned: the agent stays up and answers") {
  // The test holds up to 1,000 sockets at once.
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
  ::setrlimit(RLIMIT_NOFILE, &rl);
  TempDir tmp;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}, {"--read-timeout", "2"}));
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    int fd = connect_tcp(agent.port);
    if (fd < 0) continue;
    // A third send half a request, a third a whole one they never read, a third nothing.
    if (i % 3 == 0) ::send(fd, "GET /api/health HTTP/1.1\r\nHo", 28, MSG_NOSIGNAL);
    if (i % 3 == 1) ::send(fd, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n", 37, MSG_NOSIGNAL);
    fds.push_back(fd);
    if (fds.size() == 200) {  // abandoned in waves, with or without a reset
      for (int f : fds) {
        if (f % 2) {
          linger l{1, 0};
          ::setsockopt(f, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        ::close(f);
      }
      fds.clear();
    }
  }
  for (int f : fds) ::close(f);
  CHECK(agent.child.running());
  CHECK(wait_until([&] { return agent.get("/api/health").status == 200; }));
  CHECK(wait_until([&] { return agent.get("/api/status").status == 200; }));
}

TEST_CASE("a body on a GET is read and ignored: the answer and the next request on the connection are right") {
  TempDir tmp;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}));
  std::string two = "GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 22\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
                    "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string out = send_and_read(agent.socket, two);
  // The body was not taken for a request: two answers, both 200, no 404.
  CHECK(count(out, "HTTP/1.1 200") == 2);
  CHECK(out.find("404") == std::string::npos);
}

TEST_CASE("garbage bytes on the socket get 400 and the agent stays up") {
  TempDir tmp;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}));
  std::mt19937 rng(42);
  for (int i = 0; i < 20; ++i) {
    std::string junk(64 + i * 50, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    junk += "\r\n\r\n";
    std::string out = send_and_read(agent.socket, junk);

    // Either refused at once (400) or, when the junk ends a line early, taken as a bad request.
    CHECK((out.empty() || out.rfind("HTTP/1.1 4", 0) == 0));
  }
  CHECK(send_and_read(agent.socket, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n")
            .rfind("HTTP/1.1 400", 0) == 0);  // a TLS hello on the plain port
  CHECK(agent.get("/api/health").status == 200);
}

TEST_CASE("a read-only logs folder: the agent says so on stderr and keeps serving") {
  require_root("mounts a read-only tmpfs");
  TempDir tmp;
  AgentProcess agent;
  std::string logs = agent.dir.path + "/logs";
  std::filesystem::create_directories(logs);
  if (::mount("tmpfs", logs.c_str(), "tmpfs", MS_RDONLY, "size=1m") != 0) {
    MESSAGE("SKIPPED: cannot mount a tmpfs here (" << std::strerror(errno) << ")");
    return;
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{logs};
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}));
  CHECK(agent.get("/api/status").status == 200);
  CHECK(agent.get("/api/health").status == 200);
  std::string err = read_file(agent.dir.path + "/agent.out");
  INFO(err);
  CHECK(err.find("stderr only") != std::string::npos);
  CHECK(err.find("serving on") != std::string::npos);
  agent.child.stop(SIGTERM);
}

TEST_CASE("kill -9 with clients connected: a new agent replaces the stale socket and answers") {
  TempDir tmp;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}));
  std::vector<int> clients;
  for (int i = 0; i < 5; ++i) {
    int fd = connect_unix(agent.socket);
    REQUIRE(fd >= 0);
    std::string req = "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    clients.push_back(fd);
  }
  ::kill(agent.child.pid(), SIGKILL);
  agent.child.wait(std::chrono::seconds(10));
  CHECK(std::filesystem::exists(agent.socket));  // left behind: nobody removed it
  // The clients see the connection end, not a hang.
  for (int fd : clients) {
    char buf[4096];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    ::close(fd);
  }
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}));
  auto r = client::request(agent.unix(), "GET", "/api/health", "", {}, std::chrono::seconds(10));
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("the node's binary replaced on disk: the stacks keep the right names") {
  require_ptrace();
  TempDir tmp;
  // The node runs a copy, so the test may replace it.
  std::string node_bin = tmp.path + "/robust_node";
  std::filesystem::copy_file(build_path("SONDE_TARGET_CHAIN_C"), node_bin);
  ::chmod(node_bin.c_str(), 0755);
  Child node = start_node(node_bin, tmp.path + "/node.out");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.pid())}));
  auto before = agent.get("/api/status/stacktrace?format=json");
  REQUIRE(before.status == 200);
  auto was = functions_by_thread(before.body);
  REQUIRE(was.count("chain-1"));
  const std::vector<std::string> chain{"chain_inner", "chain_middle", "chain_outer", "chain_thread"};
  auto has_chain = [&](const std::vector<std::string>& fns) {
    return std::search(fns.begin(), fns.end(), chain.begin(), chain.end()) != fns.end();
  };
  CHECK(has_chain(was["chain-1"]));

  // A different build of the same source under the same path (a deploy
  // renames the new file over the old; the running node keeps the old inode).
  std::filesystem::copy_file(build_path("SONDE_TARGET_CHAIN_NOFP"), node_bin + ".new");
  std::filesystem::rename(node_bin + ".new", node_bin);

  auto after = agent.get("/api/status/stacktrace?format=json");
  REQUIRE(after.status == 200);
  auto now = functions_by_thread(after.body);
  for (const char* t : {"chain-1", "chain-2", "chain-3"}) {
    CAPTURE(t);
    CHECK(has_chain(now[t]));
    // The frames in the node's own binary are named as before the replacement.
    CHECK(now[t] == was[t]);
  }
}

TEST_CASE("--rate-limit: a peer over its rate gets 429 with Retry-After, then is served again") {
  TempDir tmp;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}, {"--rate-limit", "2"}));
  // start() polled health already; a burst of 4 is left at most.
  client::HttpResponse r;
  for (int i = 0; i < 10 && r.status != 429; ++i) r = agent.get("/api/status");
  CHECK(r.status == 429);
  CHECK(r.headers["retry-after"] == "1");
  CHECK(r.body.find("too_many_requests") != std::string::npos);
  // The socket is another peer (uid 0), with a bucket of its own.
  auto other = client::request(agent.unix(), "GET", "/api/health", "", {}, std::chrono::seconds(10));
  REQUIRE(other);
  CHECK(other->status == 200);
  ::usleep(1100 * 1000);
  CHECK(agent.get("/api/status").status == 200);
}
