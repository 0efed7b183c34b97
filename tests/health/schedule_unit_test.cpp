// Safe mode from startup_options.json and the config file (the seed's forms),
// and the scheduler on a real io_context: ticks, skips, retries, disable.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "child.h"
#include "config/agent_config.h"
#include "schedule/safe_mode.h"
#include "schedule/scheduler.h"

using namespace sonde;
using namespace sonde::schedule;
using namespace std::chrono_literals;

TEST_CASE("startup_options.json: the seed's form switches the jobs off; false or absent leaves them on") {
  auto on = parse_startup_options(R"({"task_manager": {"disable_pump_scheduler": true}})", "f");
  CHECK(on.disabled);
  CHECK_FALSE(on.malformed);
  CHECK(on.why.find("disable_pump_scheduler is true") != std::string::npos);
  CHECK_FALSE(parse_startup_options(R"({"task_manager": {"disable_pump_scheduler": false}})", "f").disabled);
  CHECK_FALSE(parse_startup_options(R"({"task_manager": {}})", "f").disabled);
  CHECK_FALSE(parse_startup_options(R"({"other": 1})", "f").disabled);
  auto entity = parse_startup_options(
      R"({"_id": "node", "type": "metadata", "task_manager": {"disable_pump_scheduler": true}})", "f");
  CHECK(entity.disabled);
}

TEST_CASE("a malformed startup_options.json means safe mode, with a message that names the file") {
  for (const char* bad : {"{\"task_manager\": ", "[]", "{\"task_manager\": true}",
                          "{\"task_manager\": {\"disable_pump_scheduler\": \"yes\"}}", ""}) {
    CAPTURE(bad);
    auto s = parse_startup_options(bad, "/data/startup_options.json");
    CHECK(s.disabled);
    CHECK(s.malformed);
    CHECK(s.why.find("/data/startup_options.json") != std::string::npos);
    CHECK(s.why.find("safe mode") != std::string::npos);
  }
}

TEST_CASE("read_startup_options: no folder or no file is normal; a file is read; a folder in its place is safe mode") {
  CHECK_FALSE(read_startup_options("").disabled);
  test::TempDir d;
  CHECK_FALSE(read_startup_options(d.path).disabled);
  std::ofstream(d.path + "/startup_options.json") << R"({"task_manager": {"disable_pump_scheduler": true}})";
  CHECK(read_startup_options(d.path).disabled);
  std::ofstream(d.path + "/startup_options.json") << "{oops";
  auto broken = read_startup_options(d.path);
  CHECK(broken.disabled);
  CHECK(broken.malformed);
  test::TempDir d2;
  std::filesystem::create_directory(d2.path + "/startup_options.json");
  CHECK(read_startup_options(d2.path).malformed);
  // The config's key wins, and a broken file is still reported.
  auto both = decide_safe_mode(true, d.path);
  CHECK(both.disabled);
  CHECK(both.malformed);
  CHECK(decide_safe_mode(false, d.path).disabled);
}

TEST_CASE("the config file takes task_manager, also in the seed's metadata entity form") {
  config::AgentConfig c;
  REQUIRE(config::apply_config_json(R"({"pid": 1, "task_manager": {"disable_pump_scheduler": true}})", "c", {}, c));
  CHECK(c.disable_scheduler);
  config::AgentConfig e;
  REQUIRE(config::apply_config_json(
      R"({"_id": "node", "type": "metadata", "task_manager": {"disable_pump_scheduler": true}, "pid": 3})", "c", {}, e));
  CHECK(e.disable_scheduler);
  CHECK(e.pid == 3);
  config::AgentConfig f;
  REQUIRE(config::apply_config_json(R"({"task_manager": {"disable_pump_scheduler": false}})", "c", {}, f));
  CHECK_FALSE(f.disable_scheduler);
  // Still strict: wrong types and unknown keys are errors that name them.
  auto t = config::apply_config_json(R"({"type": "pipe"})", "c", {}, f);
  REQUIRE_FALSE(t);
  CHECK(t.error().message.find("metadata") != std::string::npos);
  auto u = config::apply_config_json(R"({"task_manager": {"disable": true}})", "c", {}, f);
  REQUIRE_FALSE(u);
  CHECK(u.error().message.find("task_manager.disable") != std::string::npos);
  CHECK_FALSE(config::apply_config_json(R"({"task_manager": {"disable_pump_scheduler": 1}})", "c", {}, f));
  CHECK_FALSE(config::apply_config_json(R"({"task_manager": true})", "c", {}, f));
}

TEST_CASE("health and incident keys: the table reads them; validate checks their ranges") {
  config::AgentConfig c;
  REQUIRE(config::apply_config_json(R"({"pid": 1, "health-url": "http://127.0.0.1:1/h", "health-interval": 0.5,
      "health-timeout": 2, "health-failures": 3, "incident-cooldown": 60, "incident-keep": 4,
      "incident-max-bytes": 1000000})", "c", {}, c));
  CHECK(c.health_url == "http://127.0.0.1:1/h");
  CHECK(c.health_interval == doctest::Approx(0.5));
  CHECK(c.health_timeout == doctest::Approx(2));
  CHECK(c.health_failures == 3);
  CHECK(c.incident_cooldown == doctest::Approx(60));
  CHECK(c.incident_keep == 4);
  CHECK(c.incident_max_bytes == 1000000);
  CHECK(config::validate(c));
  config::AgentConfig d;
  CHECK(d.health_interval == doctest::Approx(30));
  CHECK(d.incident_cooldown == doctest::Approx(300));
  d.pid = 1;
  d.health_failures = 0;
  CHECK_FALSE(config::validate(d));
  d.health_failures = 1;
  d.health_interval = 0;
  CHECK_FALSE(config::validate(d));
}

namespace {
// Runs an io_context on two threads, as in the agent. Declared after
// everything its threads touch, so it is stopped and joined first.
struct Runner {
  boost::asio::io_context& io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::vector<std::thread> threads;
  explicit Runner(boost::asio::io_context& i) : io(i), work(i.get_executor()) {
    for (int n = 0; n < 2; ++n) threads.emplace_back([this] { io.run(); });
  }
  ~Runner() {
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  }
};

bool eventually(const std::function<bool()>& f) { return test::wait_until(f, 5s); }

JobStatus status_of(Scheduler& s, const std::string& name) {
  for (auto& j : s.jobs())
    if (j.name == name) return j;
  return {};
}
}  // namespace

TEST_CASE("jobs tick at their interval; a failed run is counted and retried at the next tick") {
  boost::asio::io_context io;
  CaptureGate gate;
  Scheduler s(io, gate);
  std::atomic<int> runs{0};
  Runner runner(io);
  s.add({"flaky", 20ms, false, [&](JobDone done) {
           int n = ++runs;
           done(n % 2 ? fail(ErrorCode::io, "odd run") : Result<void>{});
         }});
  s.start(false, "test");
  CHECK(eventually([&] { return runs >= 6; }));
  s.stop();
  auto st = status_of(s, "flaky");
  CHECK(st.runs >= 6);
  CHECK(st.failures >= 3);
  CHECK(st.last_error == "odd run");
  CHECK(st.interval_seconds == doctest::Approx(0.02));
}

TEST_CASE("a tick is skipped while the previous run goes on, and while a capture holds the gate") {
  boost::asio::io_context io;
  CaptureGate gate;
  Scheduler s(io, gate);
  std::atomic<int> slow_runs{0};
  JobDone pending;
  std::mutex mu;
  std::atomic<int> capture_runs{0};
  Runner runner(io);
  s.add({"slow", 10ms, false, [&](JobDone done) {
           ++slow_runs;
           std::lock_guard l(mu);
           pending = std::move(done);  // finishes only when the test says so
         }});
  s.add({"capture", 10ms, true, [&](JobDone done) {
           ++capture_runs;
           done({});
         }});
  auto lease = gate.try_acquire("test capture");
  REQUIRE(lease);
  CHECK_FALSE(gate.try_acquire("other"));
  s.start(false, "test");
  CHECK(eventually([&] { return status_of(s, "slow").skipped >= 3 && status_of(s, "capture").skipped >= 3; }));
  CHECK(slow_runs == 1);
  CHECK(capture_runs == 0);
  CHECK(status_of(s, "slow").running);
  lease.reset();
  CHECK(eventually([&] { return capture_runs >= 2; }));
  {
    std::lock_guard l(mu);
    pending({});
  }
  CHECK(eventually([&] { return slow_runs >= 2; }));
  s.stop();
}

TEST_CASE("safe mode: disabled at start runs nothing; enabling and disabling at run time") {
  boost::asio::io_context io;
  CaptureGate gate;
  Scheduler s(io, gate);
  std::atomic<int> runs{0};
  std::atomic<int> late{0};
  Runner runner(io);
  s.add({"job", 10ms, false, [&](JobDone done) {
           ++runs;
           done({});
         }});
  s.start(true, "startup_options.json");
  std::this_thread::sleep_for(100ms);
  CHECK(runs == 0);
  CHECK(s.disabled());
  CHECK(s.reason() == "startup_options.json");
  s.set_disabled(false, "api");
  CHECK(eventually([&] { return runs >= 3; }));
  s.set_disabled(true, "api");
  std::this_thread::sleep_for(50ms);  // a tick already queued may still land
  int after = runs;
  std::this_thread::sleep_for(100ms);
  CHECK(runs == after);
  // A job added while disabled waits too, and one added while enabled starts at once.
  s.add({"late", 10ms, false, [&](JobDone done) {
           ++late;
           done({});
         }});
  std::this_thread::sleep_for(50ms);
  CHECK(late == 0);
  s.set_disabled(false, "api");
  CHECK(eventually([&] { return late >= 2; }));
  s.stop();
}
