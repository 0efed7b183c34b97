#include "proxy/proxy_server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/strand.hpp>
#include <netinet/in.h>

#include "proxy/proxy_session.h"

namespace sonde::proxy {

namespace asio = boost::asio;
using generic = asio::generic::stream_protocol;

ProxyServer::ProxyServer(asio::io_context& io, ProxyOptions options, std::unique_ptr<ApiProfiler> profiler)
    : io_(io), opt_(std::move(options)), profiler_(std::move(profiler)), acceptor_(io) {}

ProxyServer::~ProxyServer() = default;

Result<void> ProxyServer::start() {
  auto up = resolve(opt_.spec.upstream);
  if (!up) return fail(ErrorCode::bad_request, "--proxy UPSTREAM: " + up.error().message);
  upstream_ = *up;
  auto ep = resolve(opt_.spec.listen);
  if (!ep) return fail(ErrorCode::bad_request, "--proxy LISTEN: " + ep.error().message);
  const auto& listen = opt_.spec.listen;
  if (listen.is_unix()) {
    // A socket file left by a crashed agent is replaced; a live one is not stolen.
    struct stat st{};
    if (::lstat(listen.unix_path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return fail(ErrorCode::bad_request, "--proxy LISTEN: " + listen.unix_path + " exists and is not a socket");
      asio::local::stream_protocol::socket probe(io_);
      boost::system::error_code ec;
      probe.connect(asio::local::stream_protocol::endpoint(listen.unix_path), ec);
      if (!ec) return fail(ErrorCode::bad_request, "--proxy LISTEN: something already serves " + listen.unix_path);
      ::unlink(listen.unix_path.c_str());
    }
  }
  boost::system::error_code ec;
  acceptor_.open(ep->protocol(), ec);
  if (!ec && !listen.is_unix()) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(*ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::bad_request, "--proxy: cannot listen on " + listen.describe() + ": " + ec.message());
  if (!listen.is_unix()) {
    auto local = acceptor_.local_endpoint(ec);
    if (!ec && local.protocol().family() == AF_INET)
      port_ = ntohs(reinterpret_cast<const sockaddr_in*>(local.data())->sin_port);
    else if (!ec && local.protocol().family() == AF_INET6)
      port_ = ntohs(reinterpret_cast<const sockaddr_in6*>(local.data())->sin6_port);
  }
  spdlog::info("proxy: {} -> {}{}", listen.is_unix() ? listen.describe() : listen.host + ":" + std::to_string(port_),
               opt_.spec.upstream.describe(),
               profiler_ ? " (" + opt_.profile_header + " header, profiler=true" +
                               (opt_.all_calls ? ", every call into " + opt_.logs + "/api_profiler" : std::string()) + ")"
                         : std::string());
  accept();
  return {};
}

void ProxyServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](boost::system::error_code ec, generic::socket s) {
    if (ec == asio::error::operation_aborted || stopping_ || !acceptor_.is_open()) return;
    if (!ec) {
      auto session = std::make_shared<ProxySession>(std::move(s), opt_, upstream_, profiler_.get());
      {
        std::lock_guard lock(mu_);
        if (sessions_.size() > 64 && sessions_.size() % 64 == 0)
          std::erase_if(sessions_, [](const std::weak_ptr<ProxySession>& w) { return w.expired(); });
        sessions_.push_back(session);
      }
      asio::co_spawn(session->executor(), session->run(session), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          spdlog::error("proxy: a connection ended on an error of ours: {}", x.what());
        }
      });
    } else {
      spdlog::warn("proxy: accept failed: {}", ec.message());
    }
    accept();
  });
}

size_t ProxyServer::open_connections() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& w : sessions_) n += !w.expired();
  return n;
}

void ProxyServer::shutdown() {
  if (stopping_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (opt_.spec.listen.is_unix()) ::unlink(opt_.spec.listen.unix_path.c_str());
  });
  std::lock_guard lock(mu_);
  for (auto& w : sessions_)
    if (auto s = w.lock()) s->close();
}

}  // namespace sonde::proxy
