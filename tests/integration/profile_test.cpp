// CPU profiles end to end through the real agent: target_spin's 3:1 split
// read back by each format's real consumer (profile_shares.py: Python's
// pstats, callgrind_annotate, protoc --decode_raw, JSON readers; headless
// Chromium for the flame graph), kernel frames, the routes' bounds, 409,
// background files, a node that exits mid-profile, and the node left clean
// (no BPF program, no stopped thread) even after kill -9 of the agent.
// Suites: "ebpf" test cases run with -ts=ebpf, "ptrace" ones with -ts=ptrace.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <regex>
#include <sstream>
#include <thread>

#include "agent_process.h"

using namespace sonde;
using namespace sonde::test;

namespace {

const std::string kHeavy = "spin::heavy(";
const std::string kLight = "spin::light(";

struct Target {
  TempDir dir;
  Child child;
  explicit Target(const std::string& env_name) {
    child = Child::spawn({build_path(env_name)}, dir.path + "/out");
    REQUIRE(wait_for_text(dir.path + "/out", "ready"));
  }
};

bool have_tool(const char* name) { return shell(std::string("command -v ") + name + " >/dev/null").status == 0; }

std::string write(const TempDir& d, const std::string& name, const std::string& data) {
  std::string path = d.path + "/" + name;
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

std::string shares_script() {
  return std::filesystem::path(__FILE__).parent_path().string() + "/profile_shares.py";
}

// heavy's share of heavy + light, in percent, as the format's reader sees it.
double heavy_percent(const std::string& format, const std::string& path) {
  auto r = shell("python3 '" + shares_script() + "' " + format + " '" + path + "' '" + kHeavy + "' '" + kLight + "'");
  INFO(format, ": ", r.out);
  REQUIRE(r.status == 0);
  std::map<std::string, double> v;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    v[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  double h = v[kHeavy], l = v[kLight];
  REQUIRE_MESSAGE(h + l > 50, format, ": too few samples in heavy+light: ", r.out);
  MESSAGE(format, ": heavy ", h, " light ", l, " total ", v["TOTAL"], " -> ", 100 * h / (h + l), "%");
  return 100 * h / (h + l);
}

const char* kChromium = "/usr/bin/chromium";

// The flame graph's own "matched: P%" for #search=spin::heavy, as Chromium renders it.
double flamegraph_search_percent(const TempDir& tmp, const std::string& page, const std::string& what) {
  std::string cmd = std::string("(timeout 60 ") + kChromium +
                    " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
                    " --disable-component-update --disable-sync --window-size=1280,800 --virtual-time-budget=2000"
                    " --user-data-dir='" + tmp.path + "/chrome' --dump-dom 'file://" + page + "#search=" + what +
                    "' 2>/dev/null)";
  auto r = shell(cmd);
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(r.out, m, std::regex("matched: ([0-9.]+)%")), r.out.substr(0, 2000));
  return std::stod(m[1]);
}

// The probe's program ids that `pid` holds through its fds (fdinfo prog_id).
std::set<std::string> held_prog_ids(pid_t pid) {
  auto r = shell("grep -h '^prog_id:' /proc/" + std::to_string(pid) + "/fdinfo/* 2>/dev/null | awk '{print $2}'");
  std::set<std::string> ids;
  std::istringstream in(r.out);
  for (std::string id; in >> id;) ids.insert(id);
  return ids;
}

// A program of ours (sonde_cpu_clock) with one of these ids is still loaded.
// By id, not by name: other agents on the machine may be sampling their own nodes.
bool programs_loaded(const std::set<std::string>& ids) {
  auto r = shell("bpftool prog show 2>/dev/null | grep sonde_cpu_clock | cut -d: -f1");
  std::istringstream in(r.out);
  for (std::string id; in >> id;)
    if (ids.count(id)) return true;
  return false;
}

// No program of ours is loaded at all (checked when nothing else of ours runs).
bool bpf_program_left(pid_t agent) { return !held_prog_ids(agent).empty(); }

// No thread of pid is traced or in a tracing stop.
void check_untouched(pid_t pid) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string status = read_file(e.path().string() + "/status");
    CHECK_MESSAGE(status.find("TracerPid:\t0\n") != std::string::npos, e.path());
    CHECK_MESSAGE(status.find("(tracing stop)") == std::string::npos, e.path());
  }
}

void require_ebpf() {
  require_root("eBPF sampling needs root (CAP_BPF + CAP_PERFMON)");
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) {
    std::fprintf(stderr, "\n*** SKIPPED: no /sys/kernel/btf/vmlinux: this kernel cannot run the probe ***\n\n");
    std::_Exit(77);
  }
}

// GET /api/profile over TCP with a timeout long enough for the profile.
client::HttpResponse profile(const AgentProcess& agent, const std::string& query, int seconds) {
  auto r = client::request(agent.tcp(), "GET", "/api/profile?" + query, "", {},
                           std::chrono::milliseconds((seconds + 60) * 1000));
  REQUIRE(r);
  return *r;
}

// Every format of one profiling setup reads 75/25 within `tolerance` points.
void check_every_format(const AgentProcess& agent, const std::string& extra, double tolerance,
                        const std::string& sampler) {
  TempDir tmp;
  for (const std::string format : {"pstats", "calltree", "pprof", "speedscope", "collapsed", "json", "flamegraph"}) {
    CAPTURE(format);
    // 999 Hz: ~4,000 samples on a quiet machine, so 3 points is over 4 standard errors of a
    // 75/25 share (at 499 Hz on a loaded machine a few hundred samples made it about 1.5).
    auto r = profile(agent, "seconds=4&hz=999&format=" + format + extra, 4);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.headers["x-sonde-sampler"] == sampler);
    CHECK(r.headers.count("x-sonde-partial") == 0);
    CHECK(r.headers["content-disposition"].find("attachment; filename=\"target_spin-") == 0);
    std::string path = write(tmp, format == "flamegraph" ? "p.html" : "p." + format, r.body);  // Chromium goes by the extension
    if (format == "flamegraph") {
      if (::access(kChromium, X_OK) != 0) {
        MESSAGE("SKIPPED flamegraph: no ", kChromium);
        continue;
      }
      double h = flamegraph_search_percent(tmp, path, "spin::heavy");
      double l = flamegraph_search_percent(tmp, path, "spin::light");
      CHECK(std::abs(100 * h / (h + l) - 75) <= tolerance);
      continue;
    }
    if (format == "calltree" && !have_tool("callgrind_annotate")) continue;
    if (format == "pprof" && !have_tool("protoc")) continue;
    CHECK(std::abs(heavy_percent(format, path) - 75) <= tolerance);
  }
}

}  // namespace

TEST_SUITE("ebpf") {

TEST_CASE("every format says 75/25 for target_spin, demangled, eBPF sampler") {
  require_ebpf();
  Target node("SONDE_TARGET_SPIN");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  check_every_format(agent, "", 3, "ebpf");
  auto r = profile(agent, "seconds=1&hz=999&format=json", 1);
  REQUIRE(r.status == 200);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["sampler"].GetString()) == "ebpf");
  CHECK(d["partial"].GetBool() == false);
  // What sampling cost the node: the probe's time on its ticks, a few us each,
  // so more than nothing and far less than the second it ran.
  REQUIRE(d.HasMember("probe_cpu_s"));
  CHECK(d["probe_cpu_s"].GetDouble() > 0);
  CHECK(d["probe_cpu_s"].GetDouble() < 0.5);
  CHECK(r.body.find("spin::heavy(unsigned long)") != std::string::npos);  // demangled
  CHECK(r.body.find("_ZN4spin") == std::string::npos);
  check_untouched(node.child.pid());
  CHECK_FALSE(bpf_program_left(agent.child.pid()));  // detached after each profile
  CHECK(agent.get("/api/status").status == 200);
}

TEST_CASE("kernel frames for a thread busy in read()") {
  require_ebpf();
  Target node("SONDE_TARGET_SYSCALLS");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  auto r = profile(agent, "seconds=2&hz=199&format=collapsed", 2);
  REQUIRE(r.status == 200);
  INFO(r.body.substr(0, 3000));
  CHECK(r.body.find("vfs_read") != std::string::npos);
  CHECK(r.body.find("sys_read_loop") != std::string::npos);
  // Root first: the kernel frames come after (inside) the user frames of their line.
  std::regex order("sys_read_loop;[^\\n]*vfs_read");
  CHECK(std::regex_search(r.body, order));
}

TEST_CASE("bounds are 400, unknown format lists the formats, a second profile is 409") {
  require_ebpf();
  Target node("SONDE_TARGET_SPIN");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  for (const std::string q : {"seconds=0", "seconds=601", "seconds=-1", "hz=0", "hz=1001", "seconds=x", "threads=abc",
                              "threads=999999999"})
    CHECK_MESSAGE(agent.get("/api/profile?" + q).status == 400, q);
  auto bad = agent.get("/api/profile?seconds=1&format=svg");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("pstats, calltree, collapsed, speedscope, pprof, flamegraph, json") != std::string::npos);

  std::thread first([&] { CHECK(profile(agent, "seconds=3&format=collapsed", 3).status == 200); });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto second = agent.get("/api/profile?seconds=1");
  CHECK(second.status == 409);
  CHECK(second.body.find("already running") != std::string::npos);
  first.join();
  CHECK(agent.get("/api/profile?seconds=0.5&format=json").status == 200);  // free again
}

TEST_CASE("POST /api/profiles writes NAME-TIME.pstat and .calltree that list and download") {
  require_ebpf();
  Target node("SONDE_TARGET_SPIN");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  auto bad = client::request(agent.tcp(), "POST", "/api/profiles", "id=../x&seconds=1",
                             {{"Content-Type", "application/x-www-form-urlencoded"}});
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto r = client::request(agent.tcp(), "POST", "/api/profiles", "{\"id\": \"pump-7\", \"seconds\": 3, \"hz\": 999}",
                           {{"Content-Type", "application/json"}});
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 202, r->body);
  std::smatch m;
  REQUIRE(std::regex_search(r->body, m, std::regex("\"(pump-7-\\d{8}T\\d{6}Z)\\.pstat\",\"pump-7-\\d{8}T\\d{6}Z\\.calltree\"")));
  std::string stem = m[1];
  CHECK(client::request(agent.tcp(), "POST", "/api/profiles?id=other&seconds=1")->status == 409);
  REQUIRE(wait_until([&] { return std::filesystem::exists(agent.logs + "/" + stem + ".calltree"); },
                     std::chrono::seconds(20)));
  auto list = agent.get("/api/profiles");
  CHECK(list.status == 200);
  CHECK(list.body.find("\"name\":\"" + stem + ".pstat\"") != std::string::npos);
  auto dl = agent.get("/api/profiles/" + stem + ".pstat");
  CHECK(dl.status == 200);
  CHECK(dl.body == read_file(agent.logs + "/" + stem + ".pstat"));
  TempDir tmp;
  std::string path = write(tmp, "x.pstat", dl.body);
  CHECK(std::abs(heavy_percent("pstats", path) - 75) <= 5);
  CHECK(agent.get("/api/profiles/..%2Fsonde.log").status == 400);
  CHECK(agent.get("/api/profiles/sonde.log").status == 400);
  CHECK(agent.get("/api/profiles/nope.pstat").status == 404);
  // A form works too.
  REQUIRE(wait_until([&] { return agent.get("/api/profile?seconds=0.2").status == 200; }, std::chrono::seconds(10)));
  auto form = client::request(agent.tcp(), "POST", "/api/profiles", "id=f&seconds=0.5",
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(form->status == 202);
}

TEST_CASE("the node exits mid-profile: the samples so far, marked partial") {
  require_ebpf();
  Target node("SONDE_TARGET_SPIN");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ::kill(node.child.pid(), SIGKILL);
  });
  auto r = profile(agent, "seconds=20&format=json", 20);
  killer.join();
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.headers["x-sonde-partial"] == "true");
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  CHECK(d["partial"].GetBool());
  CHECK(d["samples"].GetUint64() > 0);
  CHECK(d["duration_s"].GetDouble() < 10);
}

TEST_CASE("kill -9 of the agent mid-profile leaves no probe and no stopped thread") {
  require_ebpf();
  Target node("SONDE_TARGET_SPIN");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  pid_t apid = agent.child.pid();
  std::thread asker([&] { client::request(agent.tcp(), "GET", "/api/profile?seconds=30", "", {}, std::chrono::seconds(40)); });
  std::set<std::string> ids;
  bool loaded = wait_until([&] { return !(ids = held_prog_ids(apid)).empty(); }, std::chrono::seconds(10));
  ::kill(apid, SIGKILL);
  agent.child.wait(std::chrono::seconds(5));
  asker.join();
  REQUIRE(loaded);
  CHECK(programs_loaded(ids) == false);
  CHECK(wait_until([&] { return !programs_loaded(ids); }, std::chrono::seconds(5)));
  check_untouched(node.child.pid());
}

TEST_CASE("sonde profile --pid: one shot, no agent") {
  require_ebpf();
  Target node("SONDE_TARGET_SPIN");
  TempDir tmp;
  std::string out, err;
  int rc = run_sonde({"profile", "--pid", std::to_string(node.child.pid()), "--seconds", "3", "--hz", "999",
                      "--format", "collapsed", "-o", tmp.path + "/p.folded"},
                     &out, &err);
  INFO(err);
  REQUIRE(rc == 0);
  CHECK(std::abs(heavy_percent("collapsed", tmp.path + "/p.folded") - 75) <= 3);
  check_untouched(node.child.pid());
}

}  // TEST_SUITE ebpf

TEST_SUITE("ptrace") {

// 499 Hz: a thousand samples or more, so 5 points is several standard errors of the share.
TEST_CASE("the ptrace fallback says 75/25 within 5 points and sampler ptrace") {
  require_ptrace();
  Target node("SONDE_TARGET_SPIN");
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
  auto r = profile(agent, "seconds=4&hz=499&format=json&sampler=ptrace", 4);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  CHECK(std::string(d["sampler"].GetString()) == "ptrace");
  CHECK(r.headers["x-sonde-sampler"] == "ptrace");
  CHECK_FALSE(d.HasMember("probe_cpu_s"));  // not known without the probe
  TempDir tmp;
  CHECK(std::abs(heavy_percent("json", write(tmp, "p.json", r.body)) - 75) <= 5);
  r = profile(agent, "seconds=4&hz=499&format=pstats&sampler=ptrace", 4);
  REQUIRE(r.status == 200);
  CHECK(std::abs(heavy_percent("pstats", write(tmp, "p.pstat", r.body)) - 75) <= 5);
  check_untouched(node.child.pid());
  CHECK(read_file(agent.logs + "/sonde.log").find("ptrace") != std::string::npos);

  std::string out, err;
  int rc = run_sonde({"profile", "--pid", std::to_string(node.child.pid()), "--seconds", "3", "--hz", "499", "--sampler", "ptrace",
                      "--format", "collapsed", "-o", tmp.path + "/p.folded"},
                     &out, &err);
  INFO(err);
  REQUIRE(rc == 0);
  CHECK(std::abs(heavy_percent("collapsed", tmp.path + "/p.folded") - 75) <= 5);
  check_untouched(node.child.pid());
}

}  // TEST_SUITE ptrace
