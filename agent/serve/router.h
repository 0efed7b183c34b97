// One router for both transports: exact paths and path prefixes, each with
// the methods it takes. Unknown paths get 404, known paths with another
// method 405 (with Allow), both as JSON errors.
#pragma once

#include <string>
#include <vector>

#include <optional>

#include "serve/auth/access.h"
#include "serve/http_types.h"

namespace sonde::serve {

class Router {
 public:
  // Routes need the admin role unless they say otherwise: a new route is closed by default.
  void add(const std::string& method, const std::string& path, Handler h, Access access = Access::admin);
  // Matches path == prefix + "/" + anything non-empty (e.g. /api/profiles/FILE).
  void add_prefix(const std::string& method, const std::string& prefix, Handler h, Access access = Access::admin);
  // Asked before each handler: nullopt lets the request through, else its answer is sent.
  using Guard = std::function<std::optional<Response>(const Request&, Access)>;
  void set_guard(Guard g) { guard_ = std::move(g); }

  void dispatch(const Request& req, Reply reply) const;
  // The route a path belongs to, for metrics labels ("other" when unknown, so
  // random paths cannot blow up the label set).
  std::string route_label(const std::string& path) const;

 private:
  struct Entry {
    std::string method, path;
    bool prefix = false;
    Handler handler;
    Access access = Access::admin;
    bool matches(const std::string& p) const;
  };
  std::vector<Entry> entries_;
  Guard guard_;
};

}  // namespace sonde::serve
