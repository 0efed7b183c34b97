#include "client/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sonde::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string Endpoint::describe() const {
  return socket_path.empty() ? "http://" + host + ":" + port + base_path : "unix socket " + socket_path;
}

Result<Endpoint> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return fail(ErrorCode::bad_request, "--url must start with http:// (got \"" + url + "\")");
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  Endpoint ep;
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) ep.base_path = rest.substr(slash);
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || hostport.back() == ']') {
    ep.host = hostport;
    ep.port = "80";
  } else {
    ep.host = hostport.substr(0, colon);
    ep.port = hostport.substr(colon + 1);
  }
  if (ep.host.size() > 1 && ep.host.front() == '[') ep.host = ep.host.substr(1, ep.host.size() - 2);
  if (ep.host.empty()) return fail(ErrorCode::bad_request, "--url has no host: \"" + url + "\"");
  return ep;
}

Endpoint unix_endpoint(const std::string& path) {
  Endpoint ep;
  ep.socket_path = path;
  return ep;
}

namespace {

template <class Stream>
Result<HttpResponse> exchange(Stream& stream, const Endpoint& ep, const std::string& method,
                              const std::string& target, const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::chrono::milliseconds timeout) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(ep.base_path + target);
  req.version(11);
  req.set(http::field::host, ep.socket_path.empty() ? ep.host : "localhost");
  req.set(http::field::user_agent, "sonde-client");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  stream.expires_after(timeout);
  http::write(stream, req, ec);
  if (ec) return fail(ErrorCode::io, "cannot send request to " + ep.describe() + ": " + ec.message());
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 32);
  http::read(stream, buf, parser, ec);
  if (ec) return fail(ErrorCode::io, "no answer from " + ep.describe() + ": " + ec.message());
  HttpResponse out;
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

Result<HttpResponse> request(const Endpoint& ep, const std::string& method, const std::string& target,
                             const std::string& body,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::error_code ec;
  if (!ep.socket_path.empty()) {
    beast::basic_stream<asio::local::stream_protocol> stream(io);
    stream.expires_after(timeout);
    stream.socket().connect(asio::local::stream_protocol::endpoint(ep.socket_path), ec);
    if (ec)
      return fail(ErrorCode::io, "cannot connect to " + ep.describe() + ": " + ec.message() +
                                     " (is `sonde agent` running with --socket " + ep.socket_path + "?)");
    return exchange(stream, ep, method, target, body, headers, timeout);
  }
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(ep.host, ep.port, ec);
  if (ec) return fail(ErrorCode::io, "cannot resolve " + ep.host + ": " + ec.message());
  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  stream.connect(results, ec);
  if (ec)
    return fail(ErrorCode::io, "cannot connect to " + ep.describe() + ": " + ec.message() +
                                   " (is `sonde agent` running with --http " + ep.host + ":" + ep.port + "?)");
  return exchange(stream, ep, method, target, body, headers, timeout);
}

}  // namespace sonde::client
