#include <doctest/doctest.h>

#include "config/agent_config.h"

using namespace sonde;
using namespace sonde::config;

TEST_CASE("the config file sets every key the flags have") {
  AgentConfig c;
  auto r = apply_config_json(R"({"pid-file": "/run/node.pid", "http": "off", "socket": "/run/s.sock",
                                 "logs": "/var/log/x", "max-connections": 9, "read-timeout": 2.5,
                                 "socket-mode": "0600", "stacktrace-keep": 3})",
                             "cfg.json", {}, c);
  REQUIRE(r);
  CHECK(c.pid_file == "/run/node.pid");
  CHECK(c.http == "off");
  CHECK(c.socket == "/run/s.sock");
  CHECK(c.logs == "/var/log/x");
  CHECK(c.max_connections == 9);
  CHECK(c.read_timeout == doctest::Approx(2.5));
  CHECK(c.socket_mode == 0600);
  CHECK(c.stacktrace_keep == 3);
}

TEST_CASE("flags win over the file, key by key") {
  AgentConfig c;
  c.http = "127.0.0.1:1";  // as if given by --http
  auto r = apply_config_json(R"({"http": "0.0.0.0:2", "logs": "/l"})", "cfg.json", {"http"}, c);
  REQUIRE(r);
  CHECK(c.http == "127.0.0.1:1");
  CHECK(c.logs == "/l");
}

TEST_CASE("unknown keys, wrong types and bad JSON are errors that name the problem") {
  AgentConfig c;
  auto unknown = apply_config_json(R"({"pdi": 3})", "cfg.json", {}, c);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("unknown key \"pdi\"") != std::string::npos);
  auto type = apply_config_json(R"({"pid": "three"})", "cfg.json", {}, c);
  REQUIRE_FALSE(type);
  CHECK(type.error().message.find("\"pid\"") != std::string::npos);
  auto json = apply_config_json("{\"pid\": ", "cfg.json", {}, c);
  REQUIRE_FALSE(json);
  CHECK(json.error().message.find("not valid JSON") != std::string::npos);
  CHECK_FALSE(apply_config_json("[1]", "cfg.json", {}, c));
  auto missing = apply_config_file("/nonexistent/sonde.json", {}, c);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("/nonexistent/sonde.json") != std::string::npos);
}

TEST_CASE("validate wants exactly one target and one listener") {
  AgentConfig c;
  CHECK(validate(c).error().message.find("no target") != std::string::npos);
  c.pid = 1;
  CHECK(validate(c));
  c.match = "x";
  CHECK(validate(c).error().message.find("only one") != std::string::npos);
  c.match.clear();
  c.http = "off";
  c.socket = "";
  CHECK(validate(c).error().message.find("no listener") != std::string::npos);
  c.socket = "/tmp/x.sock";
  CHECK(validate(c));
  c.socket_mode = 01777;
  CHECK_FALSE(validate(c));
}
