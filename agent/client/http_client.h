// The client side of the API: one blocking HTTP/1.1 request to a running
// agent over its unix socket or TCP. Used by the client commands and tests.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::client {

struct Endpoint {
  std::string socket_path;  // unix socket, or
  std::string host;         // TCP host and port
  std::string port;
  std::string base_path;    // prefix of the URL's path ("" usually)
  std::string describe() const;
};

// "http://host:port[/prefix]" (https is not served by the agent).
Result<Endpoint> parse_url(const std::string& url);
Endpoint unix_endpoint(const std::string& path);

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

Result<HttpResponse> request(const Endpoint& ep, const std::string& method, const std::string& target,
                             const std::string& body = "",
                             const std::vector<std::pair<std::string, std::string>>& headers = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace sonde::client
