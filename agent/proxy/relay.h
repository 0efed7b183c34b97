// Streaming one HTTP message from one connection to another (Beast's
// buffer_body relay): the body passes through one buffer, so a large or
// endless body is never held in memory; chunked bodies are re-chunked with
// the same payload bytes. `out` null: the body is read and discarded (a
// profiled call's answer). The header goes out with the first body bytes.
#pragma once

#include <utility>  // before Asio's awaitable.hpp (it uses std::exchange)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sonde::proxy {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using Stream = beast::basic_stream<boost::asio::generic::stream_protocol>;

struct RelayResult {
  beast::error_code in_error;   // reading the message failed
  beast::error_code out_error;  // writing it failed
  uint64_t body_bytes = 0;
  bool ok() const { return !in_error && !out_error; }
};

// `buf` is the connection's own (64 KiB, allocated once, not per call).
// `sniff` (when given) receives the first `sniff_limit` body bytes, e.g. a form to look into.
template <bool isRequest>
boost::asio::awaitable<RelayResult> relay(Stream& in, beast::flat_buffer& in_buf,
                                          http::parser<isRequest, http::buffer_body>& p, Stream* out,
                                          std::chrono::milliseconds in_timeout, std::chrono::milliseconds out_timeout,
                                          std::vector<char>& buf, std::string* sniff = nullptr, size_t sniff_limit = 0) {
  namespace asio = boost::asio;
  RelayResult r;
  std::optional<http::serializer<isRequest, http::buffer_body>> sr;
  if (out) sr.emplace(p.get());
  for (;;) {
    auto& body = p.get().body();
    if (!p.is_done()) {
      body.data = buf.data();
      body.size = buf.size();
      in.expires_after(in_timeout);
      beast::error_code ec;
      co_await http::async_read(in, in_buf, p, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        r.in_error = ec;
        co_return r;
      }
      size_t n = buf.size() - body.size;
      r.body_bytes += n;
      if (sniff && sniff->size() < sniff_limit) sniff->append(buf.data(), std::min(n, sniff_limit - sniff->size()));
      body.size = n;
      body.data = buf.data();
      body.more = !p.is_done();
    } else {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    }
    if (!out) {
      if (p.is_done()) co_return r;
      continue;
    }
    out->expires_after(out_timeout);
    beast::error_code ec;
    co_await http::async_write(*out, *sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      r.out_error = ec;
      co_return r;
    }
    if (p.is_done() || sr->is_done()) co_return r;
  }
}

}  // namespace sonde::proxy
