#include "health/health_target.h"

#include <sys/un.h>

namespace sonde::health {

namespace {

Result<HealthTarget> bad(const std::string& url, const std::string& why) {
  return fail(ErrorCode::bad_request,
              "--health-url \"" + url + "\": " + why +
                  " (use http://host:port/path or unix:/path/to.sock:/request/path)");
}

Result<HealthTarget> parse_unix(const std::string& url) {
  HealthTarget t;
  t.url = url;
  std::string rest = url.substr(5);  // after "unix:"
  if (rest.empty() || rest[0] != '/') return bad(url, "the socket path must be absolute");
  // The request path starts at the first ":/" after the socket path's own leading "/".
  auto split = rest.find(":/", 1);
  t.socket_path = rest.substr(0, split);
  if (split != std::string::npos) t.path = rest.substr(split + 1);
  if (t.socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
    return bad(url, "the socket path is longer than a unix socket address can hold");
  return t;
}

Result<HealthTarget> parse_http(const std::string& url) {
  HealthTarget t;
  t.url = url;
  std::string rest = url.substr(7);  // after "http://"
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) t.path = rest.substr(slash);
  if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
    auto close = hostport.find(']');
    if (close == std::string::npos) return bad(url, "unclosed [ in the host");
    t.host = hostport.substr(1, close - 1);
    std::string after = hostport.substr(close + 1);
    if (!after.empty() && after[0] != ':') return bad(url, "junk after the IPv6 address");
    t.port = after.empty() ? "80" : after.substr(1);
  } else {
    auto colon = hostport.rfind(':');
    t.host = hostport.substr(0, colon);
    t.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  }
  if (t.host.empty()) return bad(url, "no host");
  if (t.port.empty() || t.port.find_first_not_of("0123456789") != std::string::npos || t.port.size() > 5 ||
      std::stoi(t.port) < 1 || std::stoi(t.port) > 65535)
    return bad(url, "the port must be a number from 1 to 65535");
  return t;
}

}  // namespace

Result<HealthTarget> parse_health_url(const std::string& url) {
  if (url.rfind("http://", 0) == 0) return parse_http(url);
  if (url.rfind("unix:", 0) == 0) return parse_unix(url);
  if (url.rfind("https://", 0) == 0) return bad(url, "https is not supported; probe the node over plain http");
  return bad(url, "unknown scheme");
}

}  // namespace sonde::health
