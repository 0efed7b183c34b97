// The proxy's listener (--proxy LISTEN=UPSTREAM): accepts on TCP or a unix
// socket, runs one ProxySession coroutine per connection on a strand of the
// agent's I/O threads, and cuts them all on shutdown.
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "proxy/api_profiler.h"
#include "proxy/proxy_options.h"

namespace sonde::proxy {

class ProxySession;

class ProxyServer {
 public:
  // `profiler` may be null: a plain proxy.
  ProxyServer(boost::asio::io_context& io, ProxyOptions options, std::unique_ptr<ApiProfiler> profiler = nullptr);
  ~ProxyServer();

  // Binds LISTEN and resolves UPSTREAM (errors say which and why), then accepts.
  Result<void> start();
  // The bound TCP port (LISTEN with port 0 picks one), 0 on a unix socket.
  int port() const { return port_; }
  // Stops accepting and cuts every connection.
  void shutdown();
  const ProxyOptions& options() const { return opt_; }
  ApiProfiler* profiler() { return profiler_.get(); }
  size_t open_connections() const;

 private:
  void accept();
  boost::asio::io_context& io_;
  ProxyOptions opt_;
  std::unique_ptr<ApiProfiler> profiler_;
  boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol> acceptor_;
  boost::asio::generic::stream_protocol::endpoint upstream_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<ProxySession>> sessions_;
  std::atomic<bool> stopping_{false};
};

}  // namespace sonde::proxy
