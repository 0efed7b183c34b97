// The health checker, incident bundles and safe mode end to end: a real agent
// probing the demo node, whose /api/health is switched between ok, hang,
// error and close (POST /demo/health?mode=...). Bundles take stacks: ptrace.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "agent_process.h"

using namespace sonde;
using namespace sonde::test;
using namespace std::chrono_literals;

namespace {

struct DemoNode {
  TempDir dir;
  int port = free_port();
  Child child;
  DemoNode() {
    child = Child::spawn({build_path("SONDE_DEMO_NODE"), "--port", std::to_string(port)}, dir.path + "/out");
    REQUIRE(wait_for_text(dir.path + "/out", "ready"));
  }
  std::string health_url() const { return "http://127.0.0.1:" + std::to_string(port) + "/api/health"; }
  void set_mode(const std::string& mode) {
    auto ep = client::parse_url("http://127.0.0.1:" + std::to_string(port));
    auto r = client::request(*ep, "POST", "/demo/health?mode=" + mode, "", {}, 5s);
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
};

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_file(path));
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

struct HealthLog {
  std::string path;
  std::vector<std::string> lines() const { return lines_of(path); }
  size_t size() const { return lines().size(); }
  // Waits for a line at or after `from` that matches `re`; returns it ("" on timeout).
  std::string wait_for(const std::string& re, size_t from, std::chrono::milliseconds limit = 10s) const {
    std::regex r(re);
    std::string found;
    wait_until([&] {
      auto ls = lines();
      for (size_t i = from; i < ls.size(); ++i)
        if (std::regex_search(ls[i], r)) {
          found = ls[i];
          return true;
        }
      return false;
    }, limit);
    return found;
  }
};

const std::string kTime = R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ )";
const std::string kMs = R"( \d+\.\dms$)";

rapidjson::Document json_of(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::vector<std::string> incident_ids(const AgentProcess& agent) {
  auto r = agent.get("/api/incidents");
  REQUIRE(r.status == 200);
  auto d = json_of(r.body);
  std::vector<std::string> ids;
  for (const auto& b : d["incidents"].GetArray()) ids.push_back(b["id"].GetString());
  return ids;
}

size_t count_in(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

client::HttpResponse post(const AgentProcess& agent, const std::string& target, const std::string& body) {
  auto r = client::request(agent.tcp(), "POST", target, body, {{"Content-Type", "application/json"}}, 10s);
  return r ? *r : client::HttpResponse{};
}

std::vector<std::string> health_flags(const DemoNode& node, const std::string& cooldown) {
  return {"--health-url", node.health_url(), "--health-interval", "0.2", "--health-timeout", "0.3",
          "--incident-cooldown", cooldown, "--incident-profile-seconds", "1"};
}

}  // namespace

TEST_CASE("health lines follow the node: ok, hang, 500, closed; one bundle per cool-down; recovery shows") {
  require_ptrace();
  DemoNode node;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}, health_flags(node, "3")));
  HealthLog log{agent.logs + "/node_health.log"};
  CHECK(!log.wait_for(kTime + "ok 200" + kMs, 0).empty());
  CHECK(wait_until([&] { return agent.get("/api/status").body.find("\"healthy\":true") != std::string::npos; }));
  auto metrics = agent.get("/metrics").body;
  CHECK(metrics.find("sonde_node_health_up 1\n") != std::string::npos);
  CHECK(metrics.find("sonde_node_health_consecutive_failures 0\n") != std::string::npos);
  CHECK(metrics.find("sonde_node_health_latency_seconds ") != std::string::npos);
  CHECK(incident_ids(agent).empty());

  // Hang: each check gives up at the 0.3 s timeout; the node turns unhealthy: one bundle.
  size_t mark = log.size();
  node.set_mode("hang");
  auto first_fail_seen = std::chrono::steady_clock::now();
  std::string timeout_line = log.wait_for(kTime + "fail timeout" + kMs, mark);
  REQUIRE(!timeout_line.empty());
  double ms = std::stod(timeout_line.substr(timeout_line.rfind(' ') + 1));
  CHECK(ms >= 299.0);
  CHECK(ms < 2000.0);
  REQUIRE(wait_until([&] { return incident_ids(agent).size() == 1; }, 20s));
  auto status = json_of(agent.get("/api/status").body);
  CHECK(std::string(status["health"]["state"].GetString()) == "unhealthy");
  CHECK(status["health"]["consecutive_failures"].GetInt64() >= 1);
  CHECK(agent.get("/metrics").body.find("sonde_node_health_up 0\n") != std::string::npos);

  // Error, then a closed connection: still failing, no new transition, no new bundle.
  mark = log.size();
  node.set_mode("error");
  CHECK(!log.wait_for(kTime + "fail 500" + kMs, mark).empty());
  mark = log.size();
  node.set_mode("close");
  CHECK(!log.wait_for(kTime + "fail closed" + kMs, mark).empty());

  // Recovery, then a new failure within the cool-down: suppressed.
  mark = log.size();
  node.set_mode("ok");
  CHECK(!log.wait_for(kTime + "ok 200" + kMs, mark).empty());
  CHECK(wait_until([&] { return agent.get("/api/status").body.find("\"healthy\":true") != std::string::npos; }));
  mark = log.size();
  node.set_mode("error");
  CHECK(!log.wait_for(kTime + "fail 500" + kMs, mark).empty());
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - first_fail_seen).count();
  if (elapsed < 2.5) {
    CHECK(wait_for_text(agent.logs + "/sonde.log", "no incident bundle, the last one is less than"));
    CHECK(incident_ids(agent).size() == 1);
  } else {
    MESSAGE("this machine took " << elapsed << " s for the flips; the suppression check needs < 2.5 s");
  }

  // After the cool-down, the next turn to unhealthy makes the second bundle.
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(std::max(0.0, 3.2 - elapsed) * 1000)));
  mark = log.size();
  node.set_mode("ok");
  CHECK(!log.wait_for(kTime + "ok 200" + kMs, mark).empty());
  mark = log.size();
  node.set_mode("error");
  CHECK(!log.wait_for(kTime + "fail 500" + kMs, mark).empty());
  CHECK(wait_until([&] { return incident_ids(agent).size() == 2; }, 20s));
  // The bundle is listed (renamed into place) just before its log line.
  CHECK(wait_until([&] { return count_in(read_file(agent.logs + "/sonde.log"), "incident bundle ") == 2; }));
  // The top-level stacktrace.html was rotated, as SIGUSR1 and the seed's checker do.
  CHECK(std::filesystem::exists(agent.logs + "/stacktrace.html"));
  CHECK(std::filesystem::exists(agent.logs + "/stacktrace.html.1"));

  // The node dies: detached lines (or refused, before the agent notices), no bundle.
  mark = log.size();
  node.child.kill_now();
  CHECK(!log.wait_for(kTime + "detached$", mark).empty());
  auto after = json_of(agent.get("/api/status").body);
  CHECK(std::string(after["health"]["state"].GetString()) == "detached");
  std::this_thread::sleep_for(500ms);
  CHECK(incident_ids(agent).size() == 2);
  // Every line is in the contract's shape.
  std::regex shape(kTime + R"((ok \d{3}|fail (\d{3}|timeout|refused|closed|reset)))" + kMs + "|" + kTime + "detached$");
  for (const auto& l : log.lines()) CHECK_MESSAGE(std::regex_search(l, shape), l);
}

TEST_CASE("an incident bundle holds the stacks, status and health lines, and says what it skipped") {
  require_ptrace();
  DemoNode node;
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}, health_flags(node, "2")));
  HealthLog log{agent.logs + "/node_health.log"};
  REQUIRE(!log.wait_for(kTime + "ok 200", 0).empty());
  node.set_mode("error");
  REQUIRE(wait_until([&] { return incident_ids(agent).size() == 1; }, 20s));
  std::string id = incident_ids(agent)[0];
  std::string dir = agent.logs + "/incidents/" + id;
  CHECK(std::regex_match(id, std::regex(R"(\d{8}T\d{6}Z)")));

  auto listing = json_of(agent.get("/api/incidents").body);
  const auto& b = listing["incidents"][0];
  std::map<std::string, uint64_t> files;
  for (const auto& f : b["files"].GetArray()) files[f["name"].GetString()] = f["bytes"].GetUint64();
  for (const char* f : {"README.txt", "stacktrace.html", "stacks.json", "status.json", "health.log", "heap.txt",
                        "profile.pstat", "profile.html"}) {
    CAPTURE(f);
    REQUIRE(files.count(f) == 1);
    CHECK(files[f] > 0);
    CHECK(files[f] == std::filesystem::file_size(dir + "/" + f));
  }

  std::string html = read_file(dir + "/stacktrace.html");
  CHECK(html.find("<html") != std::string::npos);
  CHECK(html.find("hot-spot") != std::string::npos);
  CHECK(html.find("worker-1") != std::string::npos);
  auto stacks = json_of(read_file(dir + "/stacks.json"));
  CHECK(stacks["pid"].GetInt() == node.child.pid());
  std::set<std::string> names;
  for (const auto& t : stacks["threads"].GetArray()) names.insert(t["name"].GetString());
  CHECK(names.count("hot-spot") == 1);
  CHECK(names.count("worker-1") == 1);
  auto st = json_of(read_file(dir + "/status.json"));
  CHECK(st["node"]["pid"].GetInt() == node.child.pid());
  CHECK(std::string(st["health"]["state"].GetString()) == "unhealthy");
  CHECK(std::string(st["health"]["last_result"].GetString()) == "fail 500");
  auto hl = lines_of(dir + "/health.log");
  REQUIRE(!hl.empty());
  CHECK(hl.back().find("fail 500") != std::string::npos);
  CHECK(hl.front().find("ok 200") != std::string::npos);
  std::string readme = read_file(dir + "/README.txt");
  CHECK(readme.find("fail 500") != std::string::npos);
  for (const char* listed : {"profile.pstat", "profile.html"}) CHECK(readme.find(listed) != std::string::npos);
  CHECK(read_file(dir + "/heap.txt").find("pmem(rss=") != std::string::npos);
  // The bundle's profile loads in Python's pstats and shows the demo node's hot spot.
  std::string cmd = "python3 -c 'import pstats,sys; pstats.Stats(sys.argv[1]).print_stats()' " + dir +
                    "/profile.pstat >" + dir + "/../pstats.out 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(read_file(dir + "/../pstats.out").find("compute_heavy") != std::string::npos);
  CHECK(read_file(dir + "/profile.html").find("compute_heavy") != std::string::npos);

  // Downloads, and names that try to leave the bundle.
  auto dl = agent.get("/api/incidents/" + id + "/stacks.json");
  CHECK(dl.status == 200);
  CHECK(dl.body == read_file(dir + "/stacks.json"));
  CHECK(dl.headers["content-type"] == "application/json");
  CHECK(agent.get("/api/incidents/" + id + "/stacktrace.html").headers["content-type"].find("text/html") == 0);
  CHECK(agent.get("/api/incidents/" + id).status == 200);
  CHECK(agent.get("/api/incidents/" + id + "/nope.txt").status == 404);
  CHECK(agent.get("/api/incidents/" + id + "/../../sonde.log").status == 400);
  CHECK(agent.get("/api/incidents/" + id + "/%2e%2e").status == 400);
  CHECK(agent.get("/api/incidents/" + id + "/..%2fsonde.log").status == 400);
  CHECK(agent.get("/api/incidents/../sonde.log").status == 400);
  CHECK(agent.get("/api/incidents/20200101T000000Z/stacks.json").status == 404);
  CHECK(agent.get("/api/incidents/x/stacks.json").status == 400);
}

TEST_CASE("retention holds after many incidents: the newest N bundles stay") {
  require_ptrace();
  DemoNode node;
  AgentProcess agent;
  auto flags = health_flags(node, "0");
  flags.insert(flags.end(), {"--incident-keep", "2"});
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}, flags));
  HealthLog log{agent.logs + "/node_health.log"};
  for (int i = 1; i <= 5; ++i) {
    CAPTURE(i);
    size_t mark = log.size();
    node.set_mode("ok");
    REQUIRE(!log.wait_for(kTime + "ok 200", mark).empty());
    mark = log.size();
    node.set_mode("error");
    REQUIRE(!log.wait_for(kTime + "fail 500", mark).empty());
    REQUIRE(wait_until([&] { return count_in(read_file(agent.logs + "/sonde.log"), "incident bundle ") == size_t(i); }, 20s));
    CHECK(incident_ids(agent).size() <= 2);
  }
  auto ids = incident_ids(agent);
  CHECK(ids.size() == 2);
  // The two kept are the last two written.
  auto sonde_log = read_file(agent.logs + "/sonde.log");
  for (const auto& id : ids) CHECK(sonde_log.find("incidents/" + id + " written") != std::string::npos);
  CHECK(sonde_log.rfind("incidents/" + ids[1] + " written") > sonde_log.rfind("incidents/" + ids[0] + " written"));
  size_t dirs = 0;
  for (const auto& e : std::filesystem::directory_iterator(agent.logs + "/incidents")) dirs += e.is_directory();
  CHECK(dirs == 2);
}

TEST_CASE("safe mode by startup_options.json: no health lines until POST /api/scheduler turns the jobs on") {
  DemoNode node;
  TempDir data;
  std::ofstream(data.path + "/startup_options.json") << R"({"task_manager": {"disable_pump_scheduler": true}})";
  AgentProcess agent;
  auto flags = health_flags(node, "2");
  flags.insert(flags.end(), {"--data", data.path});
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}, flags));
  HealthLog log{agent.logs + "/node_health.log"};
  std::this_thread::sleep_for(1s);
  CHECK(log.size() == 0);
  auto sched = json_of(agent.get("/api/scheduler").body);
  CHECK(sched["disabled"].GetBool());
  CHECK(std::string(sched["reason"].GetString()).find("startup_options.json") != std::string::npos);
  CHECK(std::string(sched["jobs"][0]["name"].GetString()) == "health");
  CHECK(sched["jobs"][0]["runs"].GetInt() == 0);
  CHECK(agent.get("/api/status").status == 200);  // the on-demand API still works
  CHECK(agent.get("/api/incidents").status == 200);

  auto on = post(agent, "/api/scheduler", R"({"disabled": false})");
  CHECK(on.status == 200);
  CHECK(json_of(on.body)["disabled"].GetBool() == false);
  CHECK(!log.wait_for(kTime + "ok 200", 0).empty());
  auto off = post(agent, "/api/scheduler", R"({"disabled": true})");
  CHECK(off.status == 200);
  CHECK(json_of(off.body)["disabled"].GetBool());
  std::this_thread::sleep_for(600ms);  // a check in flight may still finish
  size_t n = log.size();
  std::this_thread::sleep_for(1s);
  CHECK(log.size() == n);
  CHECK(json_of(agent.get("/api/scheduler").body)["disabled"].GetBool());

  CHECK(post(agent, "/api/scheduler", R"({"disabled": "yes"})").status == 400);
  CHECK(post(agent, "/api/scheduler", "{oops").status == 400);
  CHECK(post(agent, "/api/scheduler", "").status == 400);
  // A form works too (curl -d disabled=false).
  auto form = client::request(agent.tcp(), "POST", "/api/scheduler", "disabled=false",
                              {{"Content-Type", "application/x-www-form-urlencoded"}}, 10s);
  REQUIRE(form);
  CHECK(form->status == 200);
  CHECK(json_of(form->body)["disabled"].GetBool() == false);
}

TEST_CASE("safe mode by the config file, in the seed's metadata entity form") {
  DemoNode node;
  TempDir cfg;
  std::ofstream(cfg.path + "/sonde.json") << R"({"_id": "node", "type": "metadata",
      "task_manager": {"disable_pump_scheduler": true}, "health-url": ")" << node.health_url()
                                          << R"(", "health-interval": 0.2})";
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}, {"--config", cfg.path + "/sonde.json"}));
  std::this_thread::sleep_for(1s);
  CHECK(lines_of(agent.logs + "/node_health.log").empty());
  auto sched = json_of(agent.get("/api/scheduler").body);
  CHECK(sched["disabled"].GetBool());
  CHECK(std::string(sched["reason"].GetString()).find("config file") != std::string::npos);
  CHECK(agent.get("/api/status").status == 200);
}

TEST_CASE("a malformed startup_options.json: a clear log line, and the agent starts in safe mode") {
  DemoNode node;
  TempDir data;
  std::ofstream(data.path + "/startup_options.json") << R"({"task_manager": {"disable_pump_scheduler": tru)";
  AgentProcess agent;
  auto flags = health_flags(node, "2");
  flags.insert(flags.end(), {"--data", data.path});
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}, flags));
  CHECK(wait_for_text(agent.logs + "/sonde.log", "startup_options.json: not valid JSON"));
  CHECK(read_file(agent.logs + "/sonde.log").find("starting in safe mode") != std::string::npos);
  CHECK(json_of(agent.get("/api/scheduler").body)["disabled"].GetBool());
  std::this_thread::sleep_for(500ms);
  CHECK(lines_of(agent.logs + "/node_health.log").empty());
  CHECK(agent.child.running());
}

TEST_CASE("a bad --health-url is a usage error; a node with no health server gives refused lines") {
  std::string out, err;
  CHECK(run_sonde({"agent", "--pid", std::to_string(::getpid()), "--http", "off", "--socket", "/tmp/sonde-h-x.sock",
                   "--health-url", "ftp://x"}, &out, &err, 20) == 2);
  CHECK(err.find("--health-url") != std::string::npos);
  DemoNode node;
  int closed_port = free_port();  // nobody listens there
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())},
                      {"--health-url", "http://127.0.0.1:" + std::to_string(closed_port) + "/api/health",
                       "--health-interval", "0.2", "--health-failures", "3", "--incident-cooldown", "1000"}));
  HealthLog log{agent.logs + "/node_health.log"};
  CHECK(!log.wait_for(kTime + "fail refused" + kMs, 0).empty());
  CHECK(wait_until([&] {
    return agent.get("/api/status").body.find("\"consecutive_failures\":3") != std::string::npos;
  }));
  // Over a unix socket path nobody serves: refused as well.
  AgentProcess agent2;
  REQUIRE(agent2.start({"--pid", std::to_string(node.child.pid())},
                       {"--health-url", "unix:" + node.dir.path + "/none.sock:/api/health", "--health-interval", "0.2"}));
  HealthLog log2{agent2.logs + "/node_health.log"};
  CHECK(!log2.wait_for(kTime + "fail refused" + kMs, 0).empty());
}
