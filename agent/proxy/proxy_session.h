// One client connection of the proxy: reads each request's header, decides
// with the ApiProfiler whether the call is profiled, forwards the request to
// the node over a connection of its own (kept alive across requests while
// both sides keep theirs), and streams the answer back, or, for the profile
// header, discards it and answers the profile instead. Errors before the
// node answered are JSON: 502 (refused, reset, not a valid answer) or 504
// (no answer in time); after that the connection is cut.
#pragma once

#include <utility>  // before Asio's awaitable.hpp (it uses std::exchange)

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>

#include "proxy/api_profiler.h"
#include "proxy/proxy_options.h"
#include "proxy/relay.h"

namespace sonde::proxy {

class ProxySession : public std::enable_shared_from_this<ProxySession> {
 public:
  ProxySession(boost::asio::generic::stream_protocol::socket socket, const ProxyOptions& options,
               boost::asio::generic::stream_protocol::endpoint upstream, ApiProfiler* profiler);
  // `self` is this session: the coroutine's frame keeps it alive.
  boost::asio::awaitable<void> run(std::shared_ptr<ProxySession> self);
  boost::asio::any_io_executor executor() { return down_.get_executor(); }
  // From any thread: cuts both connections (agent shutdown).
  void close();

 private:
  struct Exchange;
  boost::asio::awaitable<bool> serve_one();
  boost::asio::awaitable<beast::error_code> connect_upstream();
  boost::asio::awaitable<void> answer(int status, const std::string& content_type, std::string body, unsigned version,
                                      bool keep_alive, const std::vector<std::pair<std::string, std::string>>& headers = {});
  boost::asio::awaitable<void> answer_error(int status, const std::string& code, const std::string& message,
                                            unsigned version);
  void log(const std::string& method, const std::string& target, int status, uint64_t bytes, double ms,
           const char* note) const;

  Stream down_;
  std::optional<Stream> up_;
  beast::flat_buffer down_buf_, up_buf_;
  std::vector<char> relay_buf_;  // bodies pass through it, one direction at a time
  const ProxyOptions& opt_;
  boost::asio::generic::stream_protocol::endpoint upstream_;
  ApiProfiler* profiler_;
  std::string peer_;
  bool closing_ = false;
};

}  // namespace sonde::proxy
