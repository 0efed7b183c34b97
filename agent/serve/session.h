// One client connection, the same code for TCP and unix sockets: read a
// request within the limits, hand it to the router, write the answer, keep
// the connection alive when both sides want it.
#pragma once

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "serve/server.h"

namespace sonde::serve {

namespace beast = boost::beast;
namespace http = boost::beast::http;

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close_if_idle() = 0;
};

struct Server::Hooks {
  const Router* router = nullptr;
  Limits limits;
  RequestStats* stats = nullptr;
  RateLimiter* rate = nullptr;
  std::atomic<std::size_t>* connections = nullptr;
  std::mutex mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;
  std::atomic<bool> stopping{false};
};

std::string peer_name(const boost::asio::ip::tcp::socket& s);
std::string peer_name(const boost::asio::local::stream_protocol::socket& s);
void fill_peer(Request& req, const boost::asio::ip::tcp::socket& s);
void fill_peer(Request& req, const boost::asio::local::stream_protocol::socket& s);
void log_access(const std::string& peer, const std::string& method, const std::string& target, int status,
                std::size_t bytes, double ms);

template <class Protocol>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Protocol>> {
  using Stream = beast::basic_stream<Protocol, boost::asio::any_io_executor, beast::unlimited_rate_policy>;

 public:
  Session(typename Protocol::socket socket, std::shared_ptr<Server::Hooks> hooks)
      : stream_(std::move(socket)), read_timer_(stream_.get_executor()), hooks_(std::move(hooks)) {
    peer_ = peer_name(stream_.socket());
    ++*hooks_->connections;
  }
  ~Session() override { --*hooks_->connections; }

  void start() {
    {
      std::lock_guard lock(hooks_->mu);
      auto& all = hooks_->sessions;
      // Forget closed sessions now and then, so the list stays as small as the open set.
      if (all.size() > 2 * hooks_->connections->load() + 64)
        std::erase_if(all, [](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
      all.push_back(this->weak_from_this());
    }
    read_request();
  }

  void close_if_idle() override {
    // Called from the stopping thread: do it on this connection's strand.
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) {
        beast::error_code ec;
        self->read_timer_.cancel();
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  void read_request() {
    if (hooks_->stopping) return close();
    idle_ = true;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(hooks_->limits.header_bytes));
    parser_->body_limit(hooks_->limits.body_bytes);
    // Our own timer, not the stream's: an expired stream closes the socket,
    // and a slow client must still be told 408.
    stream_.expires_never();
    read_timer_.expires_after(hooks_->limits.read_timeout);
    read_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->on_read_timeout();
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read_timeout() {
    timed_out_ = true;
    // A client that sent part of a request is told; an idle keep-alive one is just closed.
    if (parser_->got_some() || buffer_.size() > 0) {
      fail_request(408, "request_timeout", "the request did not arrive in time");
    } else {
      close();
    }
  }

  void on_read(beast::error_code ec) {
    read_timer_.cancel();
    if (timed_out_) return;  // the timeout answered already
    started_ = std::chrono::steady_clock::now();
    if (ec == http::error::header_limit)
      return fail_request(431, "header_too_large",
                          "request header over " + std::to_string(hooks_->limits.header_bytes) + " bytes");
    if (ec == http::error::body_limit)
      return fail_request(413, "body_too_large",
                          "request body over " + std::to_string(hooks_->limits.body_bytes) + " bytes");
    if (ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
        ec == boost::asio::error::operation_aborted || ec == boost::asio::error::connection_reset)
      return close();
    if (ec) return fail_request(400, "bad_request", "malformed HTTP request: " + ec.message());

    idle_ = false;
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto split = protocol::split_target(req.target);
    if (!split) return respond(Response::error(split.error()), true);
    req.path = split->first;
    req.query = split->second;
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(f.value());
    }
    req.body = std::move(msg.body());
    req.peer = peer_;
    fill_peer(req, stream_.socket());
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == http::verb::head;
    method_ = req.method;
    target_ = req.target;
    route_ = hooks_->router->route_label(req.path);
    if (int wait = hooks_->rate->admit(rate_key(peer_)); wait > 0) {
      auto r = Response::error(429, "too_many_requests",
                               "over " + fmt::format("{:g}", hooks_->limits.rate_per_second) +
                                   " requests per second from this peer; retry later");
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return respond(std::move(r), false);
    }
    // The reply may come from a worker thread: hop back to this connection's executor.
    auto self = this->shared_from_this();
    auto replied = std::make_shared<std::atomic<bool>>(false);
    // While a worker computes the answer, nothing is pending on the I/O side:
    // the guard keeps the event loop (and a graceful stop) waiting for it.
    auto guard = std::make_shared<boost::asio::executor_work_guard<boost::asio::any_io_executor>>(
        stream_.get_executor());
    hooks_->router->dispatch(req, [self, replied, guard](Response r) {
      if (replied->exchange(true)) return;  // a handler answers once
      boost::asio::post(self->stream_.get_executor(),
                        [self, r = std::move(r)]() mutable { self->respond(std::move(r), false); });
      guard->reset();
    });
  }

  void fail_request(int status, const char* code, const std::string& message) {
    if (method_.empty()) method_ = "-";
    if (target_.empty()) target_ = "-";
    route_ = "invalid";
    respond(Response::error(status, code, message), true);
  }

  template <class Body>
  void set_head(http::response<Body>& res, const Response& r) {
    res.result(static_cast<unsigned>(r.status));
    res.version(11);
    res.set(http::field::server, "sonde");
    res.set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res.set(k, v);
  }

  void respond(Response r, bool close_after) {
    idle_ = false;
    if (!r.file.empty() && !head_) return respond_file(std::move(r), close_after);
    status_ = r.status;
    res_ = {};
    set_head(res_, r);
    if (!r.file.empty()) {  // HEAD of a download: its size only
      std::error_code ec;
      std::uint64_t n = std::filesystem::file_size(r.file, ec);
      res_.content_length(ec ? 0 : n);
    } else {
      res_.body() = std::move(r.body);
      res_.prepare_payload();
      if (head_) {
        auto n = res_.body().size();
        res_.body().clear();
        res_.content_length(n);
      }
    }
    bool keep = keep_alive_ && !close_after && !hooks_->stopping;
    res_.keep_alive(keep);
    // Beast's own expiry: a client that stops reading is cut off after the write timeout.
    stream_.expires_after(hooks_->limits.write_timeout);
    http::async_write(stream_, res_, [self = this->shared_from_this(), keep](beast::error_code ec, std::size_t n) {
      self->on_write(ec, n, keep);
    });
  }

  // A download: Beast's file_body reads the file in chunks as the socket drains.
  void respond_file(Response r, bool close_after) {
    file_res_ = {};
    beast::error_code ec;
    file_res_.body().open(r.file.c_str(), beast::file_mode::scan, ec);
    if (ec) return respond(Response::error(404, "not_found", "cannot open the file: " + ec.message()), close_after);
    status_ = r.status;
    set_head(file_res_, r);
    file_res_.prepare_payload();
    bool keep = keep_alive_ && !close_after && !hooks_->stopping;
    file_res_.keep_alive(keep);
    stream_.expires_after(hooks_->limits.write_timeout);
    http::async_write(stream_, file_res_, [self = this->shared_from_this(), keep](beast::error_code ec, std::size_t n) {
      self->file_res_ = {};  // closes the file
      self->on_write(ec, n, keep);
    });
  }

  void on_write(beast::error_code ec, std::size_t bytes, bool keep) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
    hooks_->stats->count(route_, status_);
    log_access(peer_, method_, target_, status_, bytes, ms);
    method_.clear();
    target_.clear();
    if (ec || !keep) return close();
    read_request();
  }

  void close() {
    read_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(Protocol::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  Stream stream_;
  boost::asio::steady_timer read_timer_;
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  http::response<http::file_body> file_res_;
  std::shared_ptr<Server::Hooks> hooks_;
  std::string peer_, method_, target_, route_;
  int status_ = 0;
  bool keep_alive_ = false, head_ = false, idle_ = true;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace sonde::serve
