// One router for both transports: exact paths and path prefixes, each with
// the methods it takes. Unknown paths get 404, known paths with another
// method 405 (with Allow), both as JSON errors.
#pragma once

#include <string>
#include <vector>

#include "serve/http_types.h"

namespace sonde::serve {

class Router {
 public:
  void add(const std::string& method, const std::string& path, Handler h);
  // Matches path == prefix + "/" + anything non-empty (e.g. /api/profiles/FILE).
  void add_prefix(const std::string& method, const std::string& prefix, Handler h);

  void dispatch(const Request& req, Reply reply) const;
  // The route a path belongs to, for metrics labels ("other" when unknown, so
  // random paths cannot blow up the label set).
  std::string route_label(const std::string& path) const;

 private:
  struct Entry {
    std::string method, path;
    bool prefix = false;
    Handler handler;
    bool matches(const std::string& p) const;
  };
  std::vector<Entry> entries_;
};

}  // namespace sonde::serve
