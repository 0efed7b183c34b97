// The health checker's pieces without a network: the URL forms, the log
// line format, the state machine, and the error words.
#include <doctest/doctest.h>

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

#include "health/check_result.h"
#include "health/health_probe.h"
#include "health/health_state.h"
#include "health/health_target.h"

using namespace sonde;
using namespace sonde::health;

TEST_CASE("health URLs: http with and without port and path, unix socket with a request path") {
  auto a = parse_health_url("http://127.0.0.1:9042/api/health");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == "9042");
  CHECK(a->path == "/api/health");
  CHECK(a->socket_path.empty());
  auto b = parse_health_url("http://node.local");
  REQUIRE(b);
  CHECK(b->host == "node.local");
  CHECK(b->port == "80");
  CHECK(b->path == "/");
  auto q = parse_health_url("http://h:1/api/health?deep=1");
  REQUIRE(q);
  CHECK(q->path == "/api/health?deep=1");
  auto v6 = parse_health_url("http://[::1]:8080/h");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == "8080");
  auto u = parse_health_url("unix:/run/node/api.sock:/api/health");
  REQUIRE(u);
  CHECK(u->socket_path == "/run/node/api.sock");
  CHECK(u->path == "/api/health");
  CHECK(u->url == "unix:/run/node/api.sock:/api/health");
  auto bare = parse_health_url("unix:/p.sock");
  REQUIRE(bare);
  CHECK(bare->socket_path == "/p.sock");
  CHECK(bare->path == "/");
}

TEST_CASE("bad health URLs say what is wrong") {
  for (const char* bad : {"ftp://x/y", "https://x/api/health", "http://:80/x", "http://h:0/", "http://h:99999/",
                          "http://h:abc/", "unix:relative.sock:/x", "127.0.0.1:9042"}) {
    CAPTURE(bad);
    auto r = parse_health_url(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("--health-url") != std::string::npos);
  }
  auto long_path = parse_health_url("unix:/" + std::string(200, 'a') + ":/x");
  CHECK_FALSE(long_path);
}

TEST_CASE("node_health.log lines: time, ok/fail, status or failure, latency in ms") {
  CheckResult r;
  r.time = 1795860000;  // 2026-11-28T10:00:00Z
  r.kind = CheckResult::Kind::fail;
  r.status = 500;
  r.latency_ms = 12.34;
  CHECK(health_line(r) == "2026-11-28T10:00:00Z fail 500 12.3ms");
  r.kind = CheckResult::Kind::ok;
  r.status = 200;
  r.latency_ms = 3.1;
  CHECK(health_line(r) == "2026-11-28T10:00:00Z ok 200 3.1ms");
  r.kind = CheckResult::Kind::fail;
  r.status = 0;
  r.failure = "timeout";
  r.detail = "no answer";
  r.latency_ms = 5000.04;
  CHECK(health_line(r) == "2026-11-28T10:00:00Z fail timeout 5000.0ms");
  r.failure = "refused";
  r.latency_ms = 0.25;
  CHECK(health_line(r) == "2026-11-28T10:00:00Z fail refused 0.2ms");
  r.failure = "error";
  r.detail = "Bad file\ndescriptor";
  r.latency_ms = 1;
  CHECK(health_line(r) == "2026-11-28T10:00:00Z fail error 1.0ms Bad file descriptor");
  CheckResult d;
  d.time = 1795860000;
  d.kind = CheckResult::Kind::detached;
  CHECK(health_line(d) == "2026-11-28T10:00:00Z detached");
}

TEST_CASE("network errors become the log's failure words") {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  CHECK(failure_word(asio::error::connection_refused) == "refused");
  CHECK(failure_word(asio::error::connection_reset) == "reset");
  CHECK(failure_word(asio::error::eof) == "closed");
  CHECK(failure_word(http::error::end_of_stream) == "closed");
  CHECK(failure_word(http::error::partial_message) == "closed");
  CHECK(failure_word(http::error::bad_version) == "protocol");
  CHECK(failure_word(asio::error::host_not_found) == "resolve");
  CHECK(failure_word(asio::error::host_unreachable) == "unreachable");
  CHECK(failure_word(asio::error::timed_out) == "timeout");
}

namespace {
CheckResult ok() {
  CheckResult r;
  r.kind = CheckResult::Kind::ok;
  r.status = 200;
  r.time = 1;
  return r;
}
CheckResult bad() {
  CheckResult r;
  r.kind = CheckResult::Kind::fail;
  r.status = 500;
  r.time = 1;
  return r;
}
CheckResult detached() {
  CheckResult r;
  r.kind = CheckResult::Kind::detached;
  r.time = 1;
  return r;
}
}  // namespace

TEST_CASE("health state: unhealthy after N failures in a row, once; healthy again after one pass") {
  HealthState s(3);
  CHECK(s.summary().state == "unknown");
  CHECK(s.record(ok()) == Transition::none);
  CHECK(s.summary().healthy());
  CHECK(s.record(bad()) == Transition::none);
  CHECK(s.record(bad()) == Transition::none);
  CHECK(s.summary().healthy());
  CHECK(s.summary().consecutive_failures == 2);
  CHECK(s.record(bad()) == Transition::became_unhealthy);
  CHECK(s.record(bad()) == Transition::none);  // still unhealthy: no second incident
  CHECK(s.summary().state == "unhealthy");
  CHECK(s.summary().consecutive_failures == 4);
  CHECK(s.summary().last_result == "fail 500");
  CHECK(s.record(ok()) == Transition::recovered);
  CHECK(s.summary().consecutive_failures == 0);
  CHECK(s.summary().checks == 6);
}

TEST_CASE("health state: detached is not a failure, and a node that comes back starts afresh") {
  HealthState s(1);
  CHECK(s.record(bad()) == Transition::became_unhealthy);  // failing from the first check counts too
  CHECK(s.record(detached()) == Transition::none);
  CHECK(s.summary().state == "detached");
  CHECK_FALSE(s.summary().healthy());
  CHECK(s.summary().consecutive_failures == 0);
  CHECK(s.summary().last_result == "detached");
  CHECK(s.record(bad()) == Transition::became_unhealthy);
}

TEST_CASE("a missing unix socket file is refused too") {
  CHECK(failure_word(boost::system::error_code(ENOENT, boost::system::system_category())) == "refused");
}
