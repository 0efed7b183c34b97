// The HTTP/1.1 server: the same router on TCP and on a unix socket, with
// keep-alive, limits, an access log line per request, and a graceful stop
// that finishes the requests in flight.
#pragma once

#include <boost/asio/io_context.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "serve/limits.h"
#include "serve/rate_limiter.h"
#include "serve/request_stats.h"
#include "serve/router.h"

namespace sonde::serve {

class SessionBase;

class Server {
 public:
  Server(boost::asio::io_context& io, const Router& router, Limits limits);
  ~Server();

  // "HOST:PORT"; port 0 picks a free one (see tcp_port()).
  Result<void> listen_tcp(const std::string& host_port);
  // Replaces a stale socket file left by a crashed agent, refuses to steal a
  // live one, and sets the file mode and, when given, the owning group.
  Result<void> listen_unix(const std::string& path, unsigned mode, const std::string& group = "");
  int tcp_port() const { return tcp_port_; }

  // Stops accepting, closes idle connections, lets the busy ones finish;
  // removes the socket file. Call from a handler on the io_context.
  void shutdown();

  RequestStats& stats() { return stats_; }
  std::size_t open_connections() const { return connections_.load(); }

  // Internal, for sessions.
  struct Hooks;
  std::shared_ptr<Hooks> hooks() { return hooks_; }

 private:
  template <class Protocol>
  struct Acceptor;
  boost::asio::io_context& io_;
  const Router& router_;
  Limits limits_;
  RequestStats stats_;
  RateLimiter rate_;
  std::atomic<std::size_t> connections_{0};
  std::shared_ptr<Hooks> hooks_;
  std::vector<std::function<void()>> closers_;
  std::string unix_path_;
  int tcp_port_ = 0;
};

}  // namespace sonde::serve
