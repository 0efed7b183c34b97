// The proxy's small pure parts: --proxy parsing, file and attachment names,
// job ids, and the config checks of the proxy keys.
#include <doctest/doctest.h>

#include "config/agent_config.h"
#include "proxy/api_profiler.h"
#include "proxy/call_names.h"
#include "proxy/proxy_endpoint.h"

using namespace sonde;
using namespace sonde::proxy;

TEST_CASE("--proxy LISTEN=UPSTREAM: TCP, IPv6 and unix sockets; clear errors otherwise") {
  auto s = parse_proxy_spec("127.0.0.1:9044=127.0.0.1:9042");
  REQUIRE(s);
  CHECK(s->listen.host == "127.0.0.1");
  CHECK(s->listen.port == 9044);
  CHECK(s->upstream.describe() == "127.0.0.1:9042");
  auto u = parse_proxy_spec("[::1]:0=/run/node/api.sock");
  REQUIRE(u);
  CHECK(u->listen.host == "::1");
  CHECK(u->upstream.is_unix());
  CHECK(u->upstream.unix_path == "/run/node/api.sock");
  CHECK(parse_proxy_spec("unix:/tmp/p.sock=localhost:80")->listen.unix_path == "/tmp/p.sock");
  CHECK(parse_proxy_spec("127.0.0.1:9044").error().message.find("LISTEN=UPSTREAM") != std::string::npos);
  CHECK(parse_proxy_spec("127.0.0.1:9044=127.0.0.1:0").error().message.find("port") != std::string::npos);
  CHECK(parse_proxy_spec("127.0.0.1:99999=127.0.0.1:1").error().message.find("0..65535") != std::string::npos);
  CHECK(!parse_proxy_spec("nohost=127.0.0.1:1"));
}

TEST_CASE("call names: route slugs, millisecond times, job ids") {
  CHECK(route_slug("/api/pipes/foo/pump") == "api_pipes_foo_pump");
  CHECK(route_slug("/") == "root");
  CHECK(route_slug("/../etc/passwd") == ".._etc_passwd");
  CHECK(route_slug(std::string(300, 'a')).size() == 80);
  CHECK(call_time(1795868400.1234) == "20261128T122000.123Z");
  CallRecord c{"GET", "/api/x?y=1", "/api/x", 1795868400.5};
  CHECK(call_stem(c) == "20261128T122000.500Z-GET-api_x");
  const std::string pattern = "^/api/pipes/([^/]+)/pump$";
  CHECK(job_id("/api/pipes/foo/pump", pattern) == "foo");
  CHECK(!job_id("/api/pipes/foo/pump/more", pattern));
  CHECK(!job_id("/api/pipes/../pump", "^/api/pipes/(.+)/pump$"));  // not a usable file name
  CHECK(wants_job_profile("profiler=true&operation=start"));
  CHECK(wants_job_profile("operation=start&profiler=1"));
  CHECK(!wants_job_profile("profiler=false"));
  CHECK(!wants_job_profile("operation=start"));
}

TEST_CASE("the proxy keys are checked at start") {
  config::AgentConfig c;
  c.pid = 1;
  CHECK(config::validate(c));
  c.enable_api_profiler = true;
  CHECK(config::validate(c).error().message.find("--proxy") != std::string::npos);
  c.proxy = "127.0.0.1:9044=127.0.0.1:9042";
  CHECK(config::validate(c));
  c.api_profiler_rate = 0;
  CHECK(!config::validate(c));
  c.api_profiler_rate = 0.5;
  c.job_id_pattern = "^/api/pipes/[^/]+/pump$";
  CHECK(config::validate(c).error().message.find("group") != std::string::npos);
  c.job_id_pattern = "([";
  CHECK(config::validate(c).error().message.find("--job-id-pattern") != std::string::npos);
}
