// Raw bytes from a socket, as the server reads them: Beast's parser with the
// agent's limits, the Request built the same way as a session builds it, the
// auth guard (with a JWT key) and the router with routes of every access kind.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/http.hpp>

#include "protocol/query.h"
#include "serve/auth/authorizer.h"
#include "serve/limits.h"
#include "serve/router.h"

namespace http = boost::beast::http;
using namespace sonde::serve;

namespace {

Router& router() {
  static Router* r = [] {
    auto* r = new Router;
    auto echo = [](const Request& req, Reply reply) {
      (void)sonde::protocol::param_bool(req.query, "consistent");
      (void)sonde::protocol::param_number(req.query, "seconds", 0, 60);
      reply(Response::json(200, "{}"));
    };
    r->add("GET", "/api/health", echo, Access::open);
    r->add("GET", "/api/status", echo, Access::status);
    r->add("GET", "/api/status/stacktrace", echo, Access::admin);
    r->add("POST", "/api/scheduler", echo, Access::admin);
    r->add_prefix("GET", "/api/incidents", echo, Access::admin);
    auto jwt = auth::JwtVerifier::from_key_text("a-fuzzing-secret-of-32-bytes-len", "roles");
    auto allow = auth::PeerAllowList::parse("0");
    auto authz = std::make_shared<auth::Authorizer>(std::move(*jwt), false, std::move(*allow));
    r->set_guard([authz](const Request& req, Access a) { return authz->check(req, a); });
    return r;
  }();
  return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Limits limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
  parser.body_limit(limits.body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  auto& msg = parser.get();
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  auto split = sonde::protocol::split_target(req.target);
  if (!split) return 0;
  req.path = split->first;
  req.query = split->second;
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = std::string(f.value());
  }
  req.body = msg.body();
  req.peer = "127.0.0.1:1";
  // Every other input also over the socket, as a refused uid.
  if (size % 2) {
    req.transport = Transport::unix_socket;
    req.peer_uid = 65534;
  }
  int answers = 0;
  (void)router().route_label(req.path);
  router().dispatch(req, [&](Response r) {
    ++answers;
    if (r.status < 200 || r.status > 599) __builtin_trap();
  });
  if (answers != 1) __builtin_trap();  // every request gets exactly one answer
  return 0;
}
