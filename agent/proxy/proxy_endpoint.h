// Where the proxy listens and where it forwards (--proxy LISTEN=UPSTREAM):
// each side HOST:PORT or a unix socket path. Asio's generic stream protocol
// carries both, so one session type serves every combination.
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace sonde::proxy {

struct ProxyEndpoint {
  std::string unix_path;  // a unix socket, or
  std::string host;       // a TCP host and port
  uint16_t port = 0;
  bool is_unix() const { return !unix_path.empty(); }
  std::string describe() const;  // "127.0.0.1:9042" or "unix:/run/node.sock"
};

// "HOST:PORT", "[::1]:PORT", "/abs/path.sock" or "unix:/path.sock".
Result<ProxyEndpoint> parse_endpoint(const std::string& text);

struct ProxySpec {
  ProxyEndpoint listen, upstream;
};
// "LISTEN=UPSTREAM", e.g. "127.0.0.1:9044=127.0.0.1:9042".
Result<ProxySpec> parse_proxy_spec(const std::string& text);

// The endpoint as a socket address (TCP hosts are resolved here, once, at start).
Result<boost::asio::generic::stream_protocol::endpoint> resolve(const ProxyEndpoint& ep);

}  // namespace sonde::proxy
