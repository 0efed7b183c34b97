#include "health_routes.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>

namespace demo::http {
namespace bhttp = boost::beast::http;
namespace {

Response json(const Request& req, bhttp::status status, std::string body) {
  Response res{status, req.version()};
  res.set(bhttp::field::server, "sonde-demo-node");
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body) + "\n";
  res.prepare_payload();
  return res;
}

Response error(const Request& req, bhttp::status status, std::string_view code,
               std::string_view message) {
  return json(req, status,
              std::string(R"({"error": {"code": ")") + std::string(code) + R"(", "message": ")" +
                  std::string(message) + R"("}})");
}

// The value of `key` in "a=1&b=2" (no percent-decoding: the values are plain words).
std::optional<std::string_view> param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key) return pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<Response> health(ModeSwitch& modes, const Request& req) {
  auto mode = modes.wait_unless_hang();  // mode=hang: no answer until it changes
  if (!mode || *mode == Mode::close) return std::nullopt;
  if (*mode == Mode::error)
    return json(req, bhttp::status::internal_server_error,
                R"j({"status": "error", "message": "demo node told to fail (mode=error)"})j");
  return json(req, bhttp::status::ok, R"({"status":"ok"})");
}

Response set_mode(ModeSwitch& modes, const Request& req, std::string_view query) {
  // The mode may come in the query or as a form body (curl -d mode=hang).
  auto text = param(query, "mode");
  if (!text) text = param(req.body(), "mode");
  auto mode = text ? parse_mode(*text) : std::nullopt;
  if (!mode)
    return error(req, bhttp::status::bad_request, "bad_parameter",
                 "mode must be one of ok, hang, error, close");
  modes.set(*mode);
  return json(req, bhttp::status::ok,
              std::string(R"({"mode": ")") + std::string(mode_name(*mode)) + R"("})");
}

// GET /demo/work?ms=N: an API call that costs the serving thread N ms of CPU
// (at most 10 s), so a profile of one call has something to show.
__attribute__((noinline)) unsigned long demo_api_work(int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  volatile unsigned long x = 1;
  while (std::chrono::steady_clock::now() < until)
    for (int i = 0; i < 10000; ++i) x = x * 2862933555777941757ul + 3037000493ul;
  return x;
}

Response work(const Request& req, std::string_view query) {
  auto text = param(query, "ms");
  int ms = text ? std::atoi(std::string(*text).c_str()) : 100;
  ms = std::clamp(ms, 0, 10000);
  unsigned long x = demo_api_work(ms);
  return json(req, bhttp::status::ok,
              "{\"worked_ms\": " + std::to_string(ms) + ", \"result\": " + std::to_string(x % 1000) + "}");
}

}  // namespace

std::optional<Response> route(ModeSwitch& modes, const Request& req) {
  std::string_view target(req.target().data(), req.target().size());
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);

  if (path == "/api/health") {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
      return error(req, bhttp::status::method_not_allowed, "method_not_allowed", "use GET");
    return health(modes, req);
  }
  if (path == "/demo/health") {
    if (req.method() == bhttp::verb::post) return set_mode(modes, req, query);
    if (req.method() == bhttp::verb::get)
      return json(req, bhttp::status::ok,
                  std::string(R"({"mode": ")") + std::string(mode_name(modes.get())) + R"("})");
    return error(req, bhttp::status::method_not_allowed, "method_not_allowed",
                 "use POST /demo/health?mode=ok|hang|error|close");
  }
  if (path == "/demo/work") return work(req, query);
  return error(req, bhttp::status::not_found, "not_found",
               "no such route; try GET /api/health");
}

}  // namespace demo::http
