// Auth on a real agent: bearer tokens on TCP, credentials on the unix socket,
// and the refusal to serve a non-loopback address without tokens.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>

#include "agent_process.h"
#include "jwt_mint.h"

using namespace sonde;
using namespace sonde::test;

namespace {

const std::string kSecret = "an-integration-secret-of-32-bytes";

Child start_node(const TempDir& tmp) {
  Child c = Child::spawn({build_path("SONDE_TARGET_CHAIN_C"), "auth-test-node"}, tmp.path + "/node.out");
  REQUIRE(wait_for_text(tmp.path + "/node.out", "ready"));
  return c;
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// A payload valid for the next hour, with the given roles.
std::string payload(const std::string& roles_json, long exp_offset = 3600) {
  long now = static_cast<long>(std::time(nullptr));
  return R"({"sub":"ci","exp":)" + std::to_string(now + exp_offset) + R"(,"roles":)" + roles_json + "}";
}

client::HttpResponse get_with(const AgentProcess& a, const std::string& target, const std::string& token) {
  std::vector<std::pair<std::string, std::string>> h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  auto r = client::request(a.tcp(), "GET", target, "", h, std::chrono::seconds(30));
  return r ? *r : client::HttpResponse{};
}

}  // namespace

TEST_CASE("HS256 tokens: health is open, status needs a token, stacktrace needs group:Admin") {
  TempDir tmp;
  Child node = start_node(tmp);
  AgentProcess agent;
  std::string key = write_file(tmp.path + "/jwt.key", kSecret);
  REQUIRE(agent.start({"--pid", std::to_string(node.pid())}, {"--jwt-key", key}));

  CHECK(agent.get("/api/health").status == 200);
  auto no_token = agent.get("/api/status");
  CHECK(no_token.status == 401);
  CHECK(no_token.body.find("Bearer") != std::string::npos);

  std::string plain = mint_hs256(kSecret, payload(R"(["viewer"])"));
  std::string admin = mint_hs256(kSecret, payload(R"(["viewer","group:Admin"])"));
  CHECK(get_with(agent, "/api/status", plain).status == 200);
  auto denied = get_with(agent, "/api/status/stacktrace", plain);
  CHECK(denied.status == 403);
  CHECK(denied.body.find("group:Admin") != std::string::npos);
  CHECK(get_with(agent, "/api/status/stacktrace", admin).status == 200);

  auto expired = get_with(agent, "/api/status", mint_hs256(kSecret, payload(R"(["group:Admin"])", -3600)));
  CHECK(expired.status == 401);
  CHECK(expired.body.find("expired") != std::string::npos);
  auto forged = get_with(agent, "/api/status", mint_hs256("another-secret-of-32-bytes-length", payload("[]")));
  CHECK(forged.status == 401);
}

TEST_CASE("--public-status opens status without a token; admin routes stay closed") {
  TempDir tmp;
  AgentProcess agent;
  std::string key = write_file(tmp.path + "/jwt.key", kSecret);
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}, {"--jwt-key", key, "--public-status"}));
  CHECK(agent.get("/api/status").status == 200);
  CHECK(agent.get("/metrics").status == 200);
  CHECK(agent.get("/api/status/stacktrace").status == 401);
}

TEST_CASE("ES256: a PEM public key verifies tokens signed by its private key") {
  TempDir tmp;
  std::string cmd = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + tmp.path +
                    "/k.pem 2>/dev/null && openssl pkey -in " + tmp.path + "/k.pem -pubout -out " + tmp.path + "/p.pem";
  REQUIRE(std::system(cmd.c_str()) == 0);
  AgentProcess agent;
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}, {"--jwt-key", tmp.path + "/p.pem"}));
  std::string priv = read_file(tmp.path + "/k.pem");
  CHECK(get_with(agent, "/api/status", mint_with_key("ES256", priv, payload("[]"))).status == 200);
  CHECK(get_with(agent, "/api/status", mint_hs256(kSecret, payload("[]"))).status == 401);
}

TEST_CASE("a non-loopback --http without --jwt-key exits 2; --insecure-http forces it") {
  TempDir tmp;
  int port = free_port();
  std::string err;
  int rc = run_sonde({"agent", "--pid-file", tmp.path + "/none.pid", "--socket", "off", "--logs", tmp.path + "/logs",
                      "--http", "0.0.0.0:" + std::to_string(port)},
                     nullptr, &err, 20);
  CHECK(rc == 2);
  CHECK(err.find("without --jwt-key") != std::string::npos);

  Child forced = Child::spawn({build_path("SONDE_BIN"), "agent", "--pid-file", tmp.path + "/none.pid", "--socket",
                               "off", "--logs", tmp.path + "/logs", "--http", "0.0.0.0:" + std::to_string(port),
                               "--insecure-http"},
                              tmp.path + "/forced.out");
  auto ep = *client::parse_url("http://127.0.0.1:" + std::to_string(port));
  CHECK(wait_until([&] {
    auto r = client::request(ep, "GET", "/api/health", "", {}, std::chrono::seconds(5));
    return r && r->status == 200;
  }));
}

TEST_CASE("unix socket peers: uid 65534 is refused by --socket-allow 0, root is always allowed") {
  if (::geteuid() != 0 || std::system("command -v setpriv >/dev/null && command -v curl >/dev/null") != 0) {
    MESSAGE("SKIPPED: needs root, setpriv and curl to act as another uid");
    return;
  }
  TempDir tmp;
  // The agent's folder must be reachable by the other uid to reach the socket.
  ::chmod(tmp.path.c_str(), 0755);
  AgentProcess agent;
  ::chmod(agent.dir.path.c_str(), 0755);
  REQUIRE(agent.start({"--pid-file", tmp.path + "/none.pid"}, {"--socket-mode", "0666", "--socket-allow", "0"}));
  std::string out = tmp.path + "/curl.out";
  std::string cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o /dev/null -w '%{http_code}' "
                    "--unix-socket " + agent.socket + " http://localhost/api/status > " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(read_file(out) == "403");
  CHECK(wait_until([&] {
    return read_file(agent.logs + "/sonde.log").find("uid 65534") != std::string::npos ||
           read_file(agent.dir.path + "/agent.out").find("uid 65534") != std::string::npos;
  }));
  auto root = client::request(agent.unix(), "GET", "/api/status", "", {}, std::chrono::seconds(10));
  REQUIRE(root);
  CHECK(root->status == 200);
}
