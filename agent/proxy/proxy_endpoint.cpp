#include "proxy/proxy_endpoint.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

namespace sonde::proxy {

namespace asio = boost::asio;

std::string ProxyEndpoint::describe() const {
  if (is_unix()) return "unix:" + unix_path;
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ProxyEndpoint> parse_endpoint(const std::string& text) {
  ProxyEndpoint ep;
  if (text.rfind("unix:", 0) == 0 || text.find('/') != std::string::npos) {
    ep.unix_path = text.rfind("unix:", 0) == 0 ? text.substr(5) : text;
    if (ep.unix_path.empty() || ep.unix_path.size() >= 108)
      return fail(ErrorCode::bad_request, "\"" + text + "\" is not a usable unix socket path (1..107 characters)");
    return ep;
  }
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return fail(ErrorCode::bad_request, "\"" + text + "\" is neither HOST:PORT nor a unix socket path");
  ep.host = text.substr(0, colon);
  if (ep.host.size() > 2 && ep.host.front() == '[' && ep.host.back() == ']') ep.host = ep.host.substr(1, ep.host.size() - 2);
  std::string port = text.substr(colon + 1);
  char* end = nullptr;
  long n = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || n < 0 || n > 65535)
    return fail(ErrorCode::bad_request, "\"" + text + "\": the port must be a number within 0..65535");
  ep.port = static_cast<uint16_t>(n);
  return ep;
}

Result<ProxySpec> parse_proxy_spec(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos)
    return fail(ErrorCode::bad_request, "--proxy takes LISTEN=UPSTREAM (e.g. 127.0.0.1:9044=127.0.0.1:9042), got \"" +
                                            text + "\"");
  auto listen = parse_endpoint(text.substr(0, eq));
  if (!listen) return fail(ErrorCode::bad_request, "--proxy LISTEN: " + listen.error().message);
  auto upstream = parse_endpoint(text.substr(eq + 1));
  if (!upstream) return fail(ErrorCode::bad_request, "--proxy UPSTREAM: " + upstream.error().message);
  if (!upstream->is_unix() && upstream->port == 0)
    return fail(ErrorCode::bad_request, "--proxy UPSTREAM needs the node's port, not 0");
  return ProxySpec{*listen, *upstream};
}

Result<asio::generic::stream_protocol::endpoint> resolve(const ProxyEndpoint& ep) {
  if (ep.is_unix()) return asio::generic::stream_protocol::endpoint(asio::local::stream_protocol::endpoint(ep.unix_path));
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
  if (ec || results.empty())
    return fail(ErrorCode::bad_request, "cannot resolve " + ep.describe() + ": " + (ec ? ec.message() : "no address"));
  return asio::generic::stream_protocol::endpoint(results.begin()->endpoint());
}

}  // namespace sonde::proxy
