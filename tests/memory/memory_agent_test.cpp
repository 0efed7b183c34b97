// The memory routes and commands end to end: a real agent attached to
// target_alloc answers /api/status/heap (text and json) and
// /api/status/debugmallocstats; `sonde heap --pid` gives the same shape one
// shot; redis-server (jemalloc) still gets procfs figures and is told that
// jemalloc is not walked yet.
#include <doctest/doctest.h>
#include <unistd.h>

#include "agent_process.h"

using namespace sonde;
using namespace sonde::test;

namespace {

struct AllocNode {
  TempDir dir;
  Child child;
  AllocNode() {
    child = Child::spawn({build_path("SONDE_TARGET_ALLOC"), dir.path + "/mallinfo", "2"}, dir.path + "/out");
    REQUIRE(wait_for_text(dir.path + "/out", "ready"));
  }
};

void has_seed_lines(const std::string& text) {
  INFO(text);
  CHECK(text.rfind("Process memory information: pmem(rss=", 0) == 0);
  CHECK(text.find("\nMemory use summary:\n") != std::string::npos);
  CHECK(text.find("**Total accounted for memory**") != std::string::npos);
  CHECK(text.find("**Unaccounted for memory (rss-total_accounted_for)**") != std::string::npos);
  CHECK(text.find("\nTop mappings") != std::string::npos);
}

}  // namespace

TEST_CASE("GET /api/status/heap (text, json) and /api/status/debugmallocstats from a running agent") {
  require_ptrace();
  AllocNode node;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  auto text = agent.get("/api/status/heap");
  REQUIRE(text.status == 200);
  has_seed_lines(text.body);
  CHECK(text.body.find("glibc malloc in use (mallinfo2 uordblks) [glibc walk]") != std::string::npos);
  auto json = agent.get("/api/status/heap?format=json");
  REQUIRE(json.status == 200);
  CHECK(json.body.find("\"mallinfo2\":{") != std::string::npos);
  CHECK(agent.get("/api/status/heap?format=xml").status == 400);
  auto stats = agent.get("/api/status/debugmallocstats");
  REQUIRE(stats.status == 200);
  CHECK(stats.body.find("Arena 0 (main)") != std::string::npos);
  CHECK(stats.body.find("Arena 2") != std::string::npos);

  // The client through the agent gives the agent's text.
  std::string out, err;
  CHECK(run_sonde({"heap", "--url", "http://127.0.0.1:" + std::to_string(agent.port)}, &out, &err) == 0);
  has_seed_lines(out);
  CHECK(run_sonde({"mallocstats", "--socket", agent.socket}, &out, &err) == 0);
  CHECK(out.find("mallinfo2: arena=") != std::string::npos);
}

TEST_CASE("sonde heap --pid: one shot; --debug-dir at an empty folder gives the package message") {
  require_ptrace();
  AllocNode node;
  std::string out, err;
  REQUIRE(run_sonde({"heap", "--pid", std::to_string(node.child.pid())}, &out, &err) == 0);
  has_seed_lines(out);
  CHECK(out.find("[glibc walk]") != std::string::npos);
  REQUIRE(run_sonde({"heap", "--pid", std::to_string(node.child.pid()), "--format", "json"}, &out, &err) == 0);
  CHECK(out.find("\"pmem\":{\"rss\":") != std::string::npos);
  TempDir empty;
  REQUIRE(run_sonde({"heap", "--pid", std::to_string(node.child.pid()), "--debug-dir", empty.path}, &out, &err) == 0);
  has_seed_lines(out);
  CHECK(out.find("libc6-dbg") != std::string::npos);
  CHECK(out.find("[glibc walk]") == std::string::npos);
  REQUIRE(run_sonde({"mallocstats", "--pid", std::to_string(node.child.pid()), "--debug-dir", empty.path}, &out,
                    &err) == 0);
  CHECK(out.find("libc6-dbg") != std::string::npos);
  CHECK(out.find("Arena 0") == std::string::npos);
}

TEST_CASE("redis-server (jemalloc): procfs figures, and jemalloc said to be not walked yet") {
  require_ptrace();
  if (::access("/usr/bin/redis-server", X_OK) != 0) {
    std::fprintf(stderr, "SKIPPED (needs redis-server): apt-get install redis-server\n");
    std::exit(77);
  }
  TempDir dir;
  int port = free_port();
  Child redis = Child::spawn({"/usr/bin/redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", dir.path, "--daemonize", "no"},
                             dir.path + "/redis.out");
  REQUIRE(wait_for_text(dir.path + "/redis.out", "Ready to accept connections"));
  std::string out, err;
  REQUIRE(run_sonde({"heap", "--pid", std::to_string(redis.pid())}, &out, &err) == 0);
  INFO(out);
  has_seed_lines(out);
  CHECK(out.find("jemalloc") != std::string::npos);
  CHECK(out.find("not read yet") != std::string::npos);
  CHECK(out.find("anonymous not in the heap [procfs]") != std::string::npos);
  CHECK(out.find("libjemalloc") != std::string::npos);
  // glibc's main arena there was never initialized: empty, not "changing".
  CHECK(out.find("changed on every read") == std::string::npos);
}
