#include <doctest/doctest.h>

#include "serve/router.h"

using namespace sonde::serve;

namespace {
Response call(const Router& r, const std::string& method, const std::string& path) {
  Request req;
  req.method = method;
  req.path = path;
  Response out;
  bool answered = false;
  r.dispatch(req, [&](Response res) {
    out = std::move(res);
    answered = true;
  });
  REQUIRE(answered);
  return out;
}
}  // namespace

TEST_CASE("exact routes, prefixes, 404 and 405") {
  Router r;
  r.add("GET", "/api/status", [](const Request&, Reply reply) { reply(Response::json(200, "status")); });
  r.add("POST", "/api/profiles", [](const Request&, Reply reply) { reply(Response::json(202, "post")); });
  r.add("GET", "/api/profiles", [](const Request&, Reply reply) { reply(Response::json(200, "list")); });
  r.add_prefix("GET", "/api/profiles", [](const Request& q, Reply reply) { reply(Response::json(200, q.path)); });

  CHECK(call(r, "GET", "/api/status").body == "status");
  CHECK(call(r, "HEAD", "/api/status").body == "status");
  CHECK(call(r, "POST", "/api/profiles").status == 202);
  CHECK(call(r, "GET", "/api/profiles").body == "list");
  CHECK(call(r, "GET", "/api/profiles/a.pstat").body == "/api/profiles/a.pstat");

  auto missing = call(r, "GET", "/api/statusx");
  CHECK(missing.status == 404);
  CHECK(missing.body.find("\"code\":\"not_found\"") != std::string::npos);
  CHECK(call(r, "GET", "/api/profiles/").status == 404);

  auto wrong = call(r, "DELETE", "/api/status");
  CHECK(wrong.status == 405);
  REQUIRE(wrong.headers.size() == 1);
  CHECK(wrong.headers[0].first == "Allow");
  CHECK(wrong.headers[0].second == "GET");
  CHECK(wrong.body.find("method_not_allowed") != std::string::npos);
}

TEST_CASE("route labels stay bounded for metrics") {
  Router r;
  r.add("GET", "/api/status", [](const Request&, Reply reply) { reply(Response::json(200, "")); });
  r.add_prefix("GET", "/api/profiles", [](const Request&, Reply reply) { reply(Response::json(200, "")); });
  CHECK(r.route_label("/api/status") == "/api/status");
  CHECK(r.route_label("/api/profiles/x") == "/api/profiles/*");
  CHECK(r.route_label("/random/1234") == "other");
}
