#include "serve/router.h"

namespace sonde::serve {

bool Router::Entry::matches(const std::string& p) const {
  if (!prefix) return p == path;
  return p.size() > path.size() + 1 && p.compare(0, path.size(), path) == 0 && p[path.size()] == '/';
}

void Router::add(const std::string& method, const std::string& path, Handler h, Access access) {
  entries_.push_back(Entry{method, path, false, std::move(h), access});
}

void Router::add_prefix(const std::string& method, const std::string& prefix, Handler h, Access access) {
  entries_.push_back(Entry{method, prefix, true, std::move(h), access});
}

void Router::dispatch(const Request& req, Reply reply) const {
  std::string allow;
  // HEAD is answered like GET by the session (body dropped there).
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  for (const auto& e : entries_) {
    if (!e.matches(req.path)) continue;
    if (e.method == method) {
      if (guard_) {
        if (auto denied = guard_(req, e.access)) {
          reply(std::move(*denied));
          return;
        }
      }
      e.handler(req, std::move(reply));
      return;
    }
    allow += (allow.empty() ? "" : ", ") + e.method;
  }
  if (!allow.empty()) {
    auto r = Response::error(405, "method_not_allowed",
                             "method " + req.method + " is not allowed on " + req.path + "; use " + allow);
    r.headers.emplace_back("Allow", allow);
    reply(std::move(r));
    return;
  }
  reply(Response::error(404, "not_found", "no route " + req.path + "; see the README for the routes"));
}

std::string Router::route_label(const std::string& path) const {
  for (const auto& e : entries_)
    if (e.matches(path)) return e.prefix ? e.path + "/*" : e.path;
  return "other";
}

}  // namespace sonde::serve
