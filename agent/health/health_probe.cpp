#include "health/health_probe.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cerrno>

namespace sonde::health {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

std::string failure_word(const boost::system::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == http::error::partial_message)
    return "closed";
  if (ec == asio::error::connection_refused) return "refused";
  // No socket file at the unix path: nobody listens there, as far as an operator cares.
  // (Compared by category and value: asio's misc "eof" is 2 too, like ENOENT.)
  if (ec.category() == boost::system::system_category() && ec.value() == ENOENT) return "refused";
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return "reset";
  if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) return "unreachable";
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
      ec == asio::error::no_data)
    return "resolve";
  if (ec == asio::error::timed_out) return "timeout";
  // Anything else Beast's parser rejects: the node answered, but not with HTTP.
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) return "protocol";
  return "error";
}

namespace {

// One probe over a stream protocol. Every handler runs on one strand, so the
// deadline and the I/O never race on the socket.
template <class Protocol>
class Probe : public ProbeHandle, public std::enable_shared_from_this<Probe<Protocol>> {
 public:
  Probe(asio::io_context& io, const HealthTarget& target, std::function<void(ProbeOutcome)> done)
      : strand_(asio::make_strand(io)), socket_(strand_), timer_(strand_), target_(target), done_(std::move(done)) {}

  void start(std::chrono::milliseconds timeout) {
    started_ = std::chrono::steady_clock::now();
    auto self = this->shared_from_this();
    asio::dispatch(strand_, [self, timeout] {
      self->timer_.expires_after(timeout);
      self->timer_.async_wait([self](boost::system::error_code ec) {
        if (!ec) self->finish_failure("timeout", "no answer within the health timeout");
      });
      self->connect();
    });
  }

  void cancel() override {
    auto self = this->shared_from_this();
    asio::dispatch(strand_, [self] { self->finish_failure("cancelled", "the agent is stopping"); });
  }

 private:
  void connect();

  void send() {
    req_.method(http::verb::get);
    req_.target(target_.path);
    req_.version(11);
    req_.set(http::field::host, target_.socket_path.empty() ? target_.host : std::string("localhost"));
    req_.set(http::field::user_agent, "sonde-health-checker");
    req_.set(http::field::connection, "close");
    auto self = this->shared_from_this();
    http::async_write(socket_, req_, [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->finish_error(ec);
      self->receive();
    });
  }

  void receive() {
    parser_.body_limit(1 << 20);  // the answer's body is not used; a huge one is still an answer
    auto self = this->shared_from_this();
    http::async_read(socket_, buffer_, parser_, [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->finish_error(ec);
      ProbeOutcome o;
      o.status = static_cast<int>(self->parser_.get().result_int());
      self->finish(std::move(o));
    });
  }

  void finish_error(const boost::system::error_code& ec) {
    if (finished_) return;  // the deadline closed the socket: already answered "timeout"
    finish_failure(failure_word(ec), ec.message());
  }

  void finish_failure(const std::string& word, const std::string& detail) {
    ProbeOutcome o;
    o.failure = word;
    o.detail = detail;
    finish(std::move(o));
  }

  void finish(ProbeOutcome o) {
    if (finished_) return;
    finished_ = true;
    o.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    cancel_resolve();
    auto done = std::move(done_);
    done(std::move(o));
  }

  void cancel_resolve();

  asio::strand<asio::io_context::executor_type> strand_;
  typename Protocol::socket socket_;
  asio::steady_timer timer_;
  HealthTarget target_;
  std::function<void(ProbeOutcome)> done_;
  std::chrono::steady_clock::time_point started_;
  bool finished_ = false;
  http::request<http::empty_body> req_;
  boost::beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::unique_ptr<tcp::resolver> resolver_;
};

template <>
void Probe<tcp>::connect() {
  auto self = shared_from_this();
  resolver_ = std::make_unique<tcp::resolver>(strand_);
  resolver_->async_resolve(target_.host, target_.port,
                           [self](boost::system::error_code ec, tcp::resolver::results_type results) {
                             if (ec) return self->finish_error(ec);
                             if (self->finished_) return;
                             asio::async_connect(self->socket_, results,
                                                 [self](boost::system::error_code ec2, const tcp::endpoint&) {
                                                   if (ec2) return self->finish_error(ec2);
                                                   self->send();
                                                 });
                           });
}

template <>
void Probe<local>::connect() {
  auto self = shared_from_this();
  socket_.async_connect(local::endpoint(target_.socket_path), [self](boost::system::error_code ec) {
    if (ec) return self->finish_error(ec);
    self->send();
  });
}

template <class Protocol>
void Probe<Protocol>::cancel_resolve() {
  if (resolver_) resolver_->cancel();
}

}  // namespace

std::shared_ptr<ProbeHandle> start_probe(asio::io_context& io, const HealthTarget& target,
                                         std::chrono::milliseconds timeout,
                                         std::function<void(ProbeOutcome)> done) {
  if (!target.socket_path.empty()) {
    auto p = std::make_shared<Probe<local>>(io, target, std::move(done));
    p->start(timeout);
    return p;
  }
  auto p = std::make_shared<Probe<tcp>>(io, target, std::move(done));
  p->start(timeout);
  return p;
}

}  // namespace sonde::health
