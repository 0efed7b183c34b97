// The memory routes and commands end to end: a real agent attached to
// target_alloc answers /api/status/heap (text and json) and
// /api/status/debugmallocstats; `sonde heap --pid` gives the same shape one
// shot; redis-server (jemalloc) gets procfs figures and is told to allow
// injected calls, and with --allow-inject gets jemalloc's own figures.
#include <doctest/doctest.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <cstdlib>
#include <filesystem>

#include "agent_process.h"
#include "redis.h"

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

// No thread of `pid` traced or stopped (DESIGN.md §3).
void check_untouched(pid_t pid) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string st = read_file(e.path().string() + "/status");
    CHECK_MESSAGE(st.find("TracerPid:\t0\n") != std::string::npos, e.path());
    CHECK_MESSAGE(st.find("(tracing stop)") == std::string::npos, e.path());
  }
}

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

TEST_CASE("redis-server (jemalloc) without --allow-inject: procfs figures and a line saying what to allow") {
  require_ptrace();
  RedisServer::require();
  RedisServer redis;
  REQUIRE(redis.ready());
  std::string out, err;
  REQUIRE(run_sonde({"heap", "--pid", std::to_string(redis.pid())}, &out, &err) == 0);
  INFO(out);
  has_seed_lines(out);
  CHECK(out.find("Allocator: jemalloc figures not available: jemalloc's figures") != std::string::npos);
  CHECK(out.find("--allow-inject") != std::string::npos);
  CHECK(out.find("[injected call]") == std::string::npos);
  CHECK(out.find("anonymous not in the heap [procfs]") != std::string::npos);
  CHECK(out.find("libjemalloc") != std::string::npos);
  // glibc's main arena there was never initialized: empty, not "changing".
  CHECK(out.find("changed on every read") == std::string::npos);
  check_untouched(redis.pid());
}

namespace {

// The jemalloc "allocated" figure of a heap JSON document.
long long jemalloc_allocated(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError() || !d.HasMember("jemalloc")) return -1;
  return d["jemalloc"]["allocated"].GetInt64();
}

}  // namespace

// redis's INFO memory has two candidates: used_memory is redis's own count
// of what it asked zmalloc for (malloc_usable_size of each block it made),
// while allocator_allocated is jemalloc's stats.allocated itself, which
// redis reads with mallctl after an "epoch" refresh (every 100 ms in its
// cron). sonde reads the same mallctl figure, so allocator_allocated is the
// one to compare with; used_memory also misses what libraries allocate.
TEST_CASE("redis-server after DEBUG POPULATE, --allow-inject: stats.allocated within 3 % of INFO allocator_allocated") {
  require_ptrace();
  RedisServer::require();
  RedisServer redis({"--enable-debug-command", "yes"});
  REQUIRE(redis.ready());
  REQUIRE(redis.cli({"DEBUG", "POPULATE", "300000", "key", "100"}).find("OK") != std::string::npos);
  // Quiet node: INFO's allocator figures are refreshed by redis's cron every 100 ms.
  ::usleep(500 * 1000);
  long long before = redis.info_field("memory", "allocator_allocated");
  REQUIRE(before > 30'000'000);  // 300,000 keys of 100 bytes
  std::string out, err;
  REQUIRE(run_sonde({"heap", "--pid", std::to_string(redis.pid()), "--format", "json", "--allow-inject"}, &out,
                    &err) == 0);
  INFO(out.substr(0, 3000));
  INFO(err);
  long long ours = jemalloc_allocated(out);
  ::usleep(300 * 1000);
  long long after = redis.info_field("memory", "allocator_allocated");
  CAPTURE(before);
  CAPTURE(ours);
  CAPTURE(after);
  long long theirs = (before + after) / 2;
  CHECK(ours > 0);
  CHECK(std::llabs(ours - theirs) <= theirs * 3 / 100);
  CHECK(out.find("\"method\":\"injected call\"") != std::string::npos);
  check_untouched(redis.pid());
  CHECK(redis.cli({"PING"}).find("PONG") != std::string::npos);

  // The agent with --allow-inject: the text report and the size-class table.
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(redis.pid())}, {"--allow-inject"}));
  auto heap = agent.get("/api/status/heap");
  REQUIRE(heap.status == 200);
  INFO(heap.body);
  has_seed_lines(heap.body);
  CHECK(heap.body.find("jemalloc allocated (stats.allocated) [injected call]") != std::string::npos);
  CHECK(heap.body.find("anonymous not in the heap (minus jemalloc resident) [procfs]") != std::string::npos);
  CHECK(heap.body.find("Allocator: jemalloc 5.") != std::string::npos);
  auto stats = agent.get("/api/status/debugmallocstats");
  REQUIRE(stats.status == 200);
  INFO(stats.body);
  CHECK(stats.body.find("small size classes, all arenas merged") != std::string::npos);
  CHECK(stats.body.find("arenas in use:") != std::string::npos);
  check_untouched(redis.pid());
  CHECK(redis.cli({"PING"}).find("PONG") != std::string::npos);
}
