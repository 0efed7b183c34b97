#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include "host/virtual_memory.h"
#include "protocol/iso_time.h"
#include "protocol/status_doc.h"
#include "target/node_facts.h"
#include "target/procfs.h"

using namespace sonde;

static const char* kMeminfo =
    "MemTotal:       1000000 kB\n"
    "MemFree:         100000 kB\n"
    "MemAvailable:    600000 kB\n"
    "Buffers:          50000 kB\n"
    "Cached:          300000 kB\n"
    "Active:          400000 kB\n"
    "Inactive:        200000 kB\n"
    "Shmem:            10000 kB\n"
    "Slab:             40000 kB\n"
    "SReclaimable:     30000 kB\n";

TEST_CASE("virtual memory uses psutil's formulas, in bytes") {
  auto vm = host::parse_meminfo(kMeminfo);
  CHECK(vm.total == 1000000ull * 1024);
  CHECK(vm.available == 600000ull * 1024);
  CHECK(vm.free == 100000ull * 1024);
  CHECK(vm.buffers == 50000ull * 1024);
  CHECK(vm.cached == (300000ull + 30000) * 1024);  // Cached + SReclaimable
  CHECK(vm.used == (1000000ull - 100000 - 330000 - 50000) * 1024);
  CHECK(vm.shared == 10000ull * 1024);
  CHECK(vm.slab == 40000ull * 1024);
  CHECK(vm.percent == doctest::Approx(40.0));
}

TEST_CASE("statm pages become bytes in pmem order") {
  auto m = target::parse_statm("100 50 20 5 0 30 0\n", 4096);
  CHECK(m.vms == 100 * 4096);
  CHECK(m.rss == 50 * 4096);
  CHECK(m.shared == 20 * 4096);
  CHECK(m.text == 5 * 4096);
  CHECK(m.data == 30 * 4096);
}

TEST_CASE("stat parsing survives a comm with spaces and parentheses") {
  auto s = target::parse_stat("42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 5 0 12345 1000 10 "
                              "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 9 0 0");
  CHECK(s.pid == 42);
  CHECK(s.comm == "a (b) c");
  CHECK(s.state == 'S');
  CHECK(s.utime_ticks == 7);
  CHECK(s.stime_ticks == 3);
  CHECK(s.num_threads == 5);
  CHECK(s.start_ticks == 12345);
  CHECK(s.blkio_ticks == 9);
}

TEST_CASE("the status document has the contract's keys and units") {
  auto id = target::identify(::getpid());
  REQUIRE(id);
  auto facts = target::read_node_facts(*id);
  REQUIRE(facts);
  double now = protocol::now_epoch();
  protocol::AgentInfo info{"host/1", "9.9.9", now - 10};
  std::string json = protocol::status_json(info, *facts, host::parse_meminfo(kMeminfo), now);
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["agent_id"].GetString()) == "host/1");
  CHECK(std::string(d["agent_version"].GetString()) == "9.9.9");
  std::string start = d["agent_start_time"].GetString();
  CHECK(start.size() == 20);
  CHECK(start.back() == 'Z');
  CHECK(d["agent_uptime"].GetDouble() == doctest::Approx(10.0));
  const auto& node = d["node"];
  REQUIRE(node.IsObject());
  CHECK(node["pid"].GetInt() == ::getpid());
  CHECK(node["cmdline"].IsArray());
  CHECK(node["num_threads"].GetInt() >= 1);
  CHECK(node["uptime"].GetDouble() >= 0);
  for (const char* k : {"user", "system", "children_user", "children_system", "iowait"})
    CHECK(node["cpu_times"].HasMember(k));
  // memory_info in bytes: our own rss is at least a few pages and matches statm.
  CHECK(node["memory_info"]["rss"].GetUint64() >= 4096);
  CHECK(node["memory_info"]["rss"].GetUint64() % static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) == 0);
  for (const char* k : {"rss", "vms", "shared", "text", "lib", "data", "dirty"}) CHECK(node["memory_info"].HasMember(k));
  const auto& vm = d["psutil.virtual_memory"];
  for (const char* k : {"total", "available", "percent", "used", "free", "active", "inactive", "buffers", "cached",
                        "shared", "slab"})
    CHECK(vm.HasMember(k));
  CHECK(vm["total"].GetUint64() == 1000000ull * 1024);
}

TEST_CASE("a detached agent reports node as null") {
  protocol::AgentInfo info{"h/1", "1", 0};
  std::string json = protocol::status_json(info, std::nullopt, host::VirtualMemory{}, 5);
  rapidjson::Document d;
  d.Parse(json.c_str());
  CHECK(d["node"].IsNull());
}
