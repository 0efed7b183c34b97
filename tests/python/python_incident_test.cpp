// An incident bundle of a Python node (suite debian: /usr/bin/python3): the
// node's health call hangs in Python code; the bundle the health checker
// writes shows that call's Python frames in stacks.json and stacktrace.html,
// threading's thread names, and a profile whose pstats (read back by
// Python's pstats) names the Python function that burns the CPU.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>

#include "agent_process.h"
#include "child.h"
#include "client/http_client.h"
#include "python_support.h"

using namespace sonde;
using namespace sonde::test;
using namespace std::chrono_literals;

namespace {

rapidjson::Document json_of(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_MESSAGE(!d.HasParseError(), text.substr(0, 300));
  return d;
}

std::vector<std::string> incident_ids(const AgentProcess& agent) {
  auto d = json_of(agent.get("/api/incidents").body);
  std::vector<std::string> ids;
  for (const auto& b : d["incidents"].GetArray()) ids.push_back(b["id"].GetString());
  return ids;
}

}  // namespace

TEST_SUITE("debian") {
  TEST_CASE("a Python node that stops answering: the bundle shows the stuck call's Python frames") {
    require_ptrace();
    std::string python = require_python("debian");
    std::string script = python_script("health_node.py");
    TempDir dir;
    int port = free_port();
    Child node = Child::spawn({python, script, std::to_string(port)}, dir.path + "/out");
    REQUIRE_MESSAGE(wait_for_text(dir.path + "/out", "ready", std::chrono::seconds(20)), read_file(dir.path + "/out"));
    const std::string base = "http://127.0.0.1:" + std::to_string(port);

    AgentProcess agent;
    REQUIRE(agent.start({"--pid", std::to_string(node.pid())},
                        {"--health-url", base + "/api/health", "--health-interval", "0.2", "--health-timeout", "0.5",
                         "--incident-cooldown", "60", "--incident-profile-seconds", "2"}));
    auto ep = client::parse_url(base);
    REQUIRE(ep);
    auto hang = client::request(*ep, "POST", "/hang", "", {}, 5s);
    REQUIRE(hang);
    REQUIRE(hang->status == 200);
    REQUIRE(wait_until([&] { return incident_ids(agent).size() == 1; }, 30s));
    const std::string bundle = agent.logs + "/incidents/" + incident_ids(agent)[0];
    // The bundle is listed once every part is written.
    auto stacks = json_of(read_file(bundle + "/stacks.json"));
    CHECK(std::string(stacks["python_version"].GetString()).rfind("3.11", 0) == 0);
    const int stuck_line = marker_line(script, "wait_for_db");
    int stuck_threads = 0;
    bool cruncher = false;
    for (const auto& t : stacks["threads"].GetArray()) {
      std::string name = t.HasMember("python_name") ? t["python_name"].GetString() : "";
      if (name == "cruncher") cruncher = true;
      const auto& frames = t["frames"].GetArray();
      // Native frames have no "kind"; Python ones say "python".
      auto is_python = [&](rapidjson::SizeType i) { return frames[i].HasMember("kind"); };
      auto function = [&](rapidjson::SizeType i) {
        return std::string(frames[i].HasMember("function") ? frames[i]["function"].GetString() : "");
      };
      for (rapidjson::SizeType i = 0; i < frames.Size(); ++i) {
        const auto& f = frames[i];
        if (!is_python(i) || function(i) != "wait_for_db") continue;
        ++stuck_threads;
        CHECK(std::string(f["file"].GetString()) == script);
        CHECK(f["line"].GetInt() == stuck_line);
        // Its caller is the handler, and threading names the connection's thread.
        REQUIRE(i + 1 < frames.Size());
        CHECK(function(i + 1) == "Handler.do_GET");
        CHECK_MESSAGE(name.find("process_request_thread") != std::string::npos, name);
        // Native frames of the lock wait inside it.
        CHECK(i > 0);
        CHECK_FALSE(is_python(0));
      }
    }
    CHECK(stuck_threads >= 1);  // one per health call that timed out so far
    CHECK(cruncher);
    std::string html = read_file(bundle + "/stacktrace.html");
    CHECK(html.find("wait_for_db") != std::string::npos);
    CHECK(html.find("python: cruncher") != std::string::npos);

    // The bundle's profile: Python's pstats finds the Python function that burns the CPU.
    auto r = shell("python3 -c 'import pstats,sys; s = pstats.Stats(sys.argv[1]); "
                   "print(max((v[2], k[2]) for k, v in s.stats.items())[1])' '" +
                   bundle + "/profile.pstat'");
    INFO(r.out);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("crunch_numbers") != std::string::npos);  // the most self time
  }
}
