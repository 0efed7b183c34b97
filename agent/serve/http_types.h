// A request as the router sees it and the response a handler gives back,
// free of Beast so handlers and their tests stay plain.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "protocol/query.h"

namespace sonde::serve {

enum class Transport { tcp, unix_socket };

struct Request {
  std::string method;     // "GET"
  std::string target;     // as sent: "/api/status?x=1"
  std::string path;       // decoded path
  protocol::Params query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string peer;       // "127.0.0.1:5555" or "unix:uid=0,pid=42"
  Transport transport = Transport::tcp;
  uid_t peer_uid = 0;     // unix socket peers (SO_PEERCRED)
  gid_t peer_gid = 0;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this file, streamed from disk as the client reads
  // it (a download may be large: never held in memory whole); body is unused.
  std::string file;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string type = "text/plain; charset=utf-8");
  static Response error(const Error& e);
  static Response error(int status, const std::string& code, const std::string& message);
  static Response file_at(std::string path, std::string type);
};

// A handler answers exactly once by calling its Reply, from any thread; long
// work goes to a worker pool and replies from there.
using Reply = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Reply)>;

}  // namespace sonde::serve
