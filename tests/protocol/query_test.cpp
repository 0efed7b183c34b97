#include <doctest/doctest.h>

#include "protocol/error_body.h"
#include "protocol/query.h"

using namespace sonde;
using namespace sonde::protocol;

TEST_CASE("split_target separates the path and decodes the query") {
  auto r = split_target("/api/profile?seconds=5&format=pstats&name=a%20b+c");
  REQUIRE(r);
  CHECK(r->first == "/api/profile");
  CHECK(r->second.at("seconds") == "5");
  CHECK(r->second.at("format") == "pstats");
  CHECK(r->second.at("name") == "a b c");
}

TEST_CASE("a path keeps '+' and decodes %XX") {
  auto r = split_target("/a%2Fb+c");
  REQUIRE(r);
  CHECK(r->first == "/a/b+c");
  CHECK(r->second.empty());
}

TEST_CASE("malformed escapes are a 400 with the text named") {
  auto r = split_target("/x?a=%zz");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::bad_request);
  CHECK(r.error().message.find("%zz") != std::string::npos);
  CHECK_FALSE(parse_params("a=%4"));
}

TEST_CASE("empty keys and repeated keys") {
  auto r = parse_params("&&a=1&a=2&b&=x");
  REQUIRE(r);
  CHECK(r->at("a") == "2");
  CHECK(r->at("b") == "");
}

TEST_CASE("param_number checks type and range") {
  Params p{{"seconds", "5"}, {"hz", "abc"}, {"big", "1001"}};
  auto s = param_number(p, "seconds", 0, 600);
  REQUIRE(s);
  CHECK(**s == 5);
  CHECK_FALSE(*param_number(p, "missing", 0, 1));
  auto bad = param_number(p, "hz", 0, 1000);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("hz") != std::string::npos);
  auto out = param_number(p, "big", 1, 1000);
  REQUIRE_FALSE(out);
  CHECK(out.error().message.find("[1, 1000]") != std::string::npos);
}

TEST_CASE("param_bool") {
  Params p{{"a", "true"}, {"b", "0"}, {"c", "maybe"}};
  CHECK(**param_bool(p, "a"));
  CHECK_FALSE(**param_bool(p, "b"));
  CHECK_FALSE(param_bool(p, "c"));
}

TEST_CASE("error bodies have the contract's shape and escape their text") {
  std::string body = error_json("busy", "a \"quoted\" message");
  CHECK(body == "{\"error\":{\"code\":\"busy\",\"message\":\"a \\\"quoted\\\" message\"}}\n");
  CHECK(error_json(Error{ErrorCode::no_node, "gone"}).find("\"code\":\"node_unavailable\"") != std::string::npos);
  CHECK(error_http_status(ErrorCode::no_node) == 503);
  CHECK(error_http_status(ErrorCode::conflict) == 409);
  CHECK(error_http_status(ErrorCode::bad_request) == 400);
}
