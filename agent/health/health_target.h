// Where the node's health endpoint is: `--health-url http://host:port/path`
// or `unix:/path/to.sock:/request/path` (the node serves its API on a unix
// socket, as the agent itself can).
#pragma once

#include <string>

#include "common/result.h"

namespace sonde::health {

struct HealthTarget {
  std::string socket_path;  // unix socket, or
  std::string host;         // TCP host and port
  std::string port;
  std::string path = "/";   // request target, with its query if any
  std::string url;          // as given, for logs and /api/status
};

// "http://host[:port][/path]" (port 80, path "/" when absent) or
// "unix:/abs/socket.sock[:/path]" (path "/" when absent).
Result<HealthTarget> parse_health_url(const std::string& url);

}  // namespace sonde::health
