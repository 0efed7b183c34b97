#include "serve/server.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "protocol/error_body.h"
#include "serve/session.h"

namespace sonde::serve {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

std::string peer_name(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "tcp:?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::string peer_name(const local::socket& s) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(const_cast<local::socket&>(s).native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
    return "unix:uid=" + std::to_string(cred.uid) + ",pid=" + std::to_string(cred.pid);
  return "unix:?";
}

void fill_peer(Request& req, const tcp::socket&) { req.transport = Transport::tcp; }

void fill_peer(Request& req, const local::socket& s) {
  req.transport = Transport::unix_socket;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(const_cast<local::socket&>(s).native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    req.peer_uid = cred.uid;
    req.peer_gid = cred.gid;
  } else {
    req.peer_uid = static_cast<uid_t>(-1);  // unknown: never root
    req.peer_gid = static_cast<gid_t>(-1);
  }
}

void log_access(const std::string& peer, const std::string& method, const std::string& target, int status,
                std::size_t bytes, double ms) {
  if (auto log = spdlog::get("access"))
    log->info("{} \"{} {}\" {} {} {:.1f}ms", peer, method, target, status, bytes, ms);
}

template <class Protocol>
struct Server::Acceptor : std::enable_shared_from_this<Acceptor<Protocol>> {
  Acceptor(asio::io_context& io, std::shared_ptr<Hooks> hooks) : acceptor(io), hooks(std::move(hooks)) {}

  void accept() {
    // Each connection gets its own strand: the I/O threads may run different
    // connections at once, never two handlers of the same one.
    acceptor.async_accept(asio::make_strand(acceptor.get_executor()),
                          [self = this->shared_from_this()](boost::system::error_code ec, typename Protocol::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) self->admit(std::move(s));
      self->accept();
    });
  }

  void admit(typename Protocol::socket s) {
    if (hooks->connections->load() >= hooks->limits.max_connections) {
      // Over the limit: say so in one small write and hang up.
      static const std::string body = protocol::error_json("too_many_connections",
                                                           "the agent serves too many connections; retry later");
      auto msg = std::make_shared<std::string>("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                               "Connection: close\r\nContent-Length: " +
                                               std::to_string(body.size()) + "\r\n\r\n" + body);
      auto sock = std::make_shared<typename Protocol::socket>(std::move(s));
      asio::async_write(*sock, asio::buffer(*msg), [sock, msg](boost::system::error_code, std::size_t) {
        boost::system::error_code ignore;
        sock->close(ignore);
      });
      hooks->stats->count("rejected", 503);
      return;
    }
    std::make_shared<Session<Protocol>>(std::move(s), hooks)->start();
  }

  typename Protocol::acceptor acceptor;
  std::shared_ptr<Hooks> hooks;
};

Server::Server(asio::io_context& io, const Router& router, Limits limits)
    : io_(io), router_(router), limits_(limits), rate_(limits.rate_per_second), hooks_(std::make_shared<Hooks>()) {
  hooks_->router = &router_;
  hooks_->limits = limits_;
  hooks_->stats = &stats_;
  hooks_->rate = &rate_;
  hooks_->connections = &connections_;
}

Server::~Server() {
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

Result<void> Server::listen_tcp(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos)
    return fail(ErrorCode::bad_request, "--http must be HOST:PORT or off, got \"" + host_port + "\"");
  std::string host = host_port.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long port = std::strtol(host_port.c_str() + colon + 1, &end, 10);
  if (!end || *end != '\0' || port < 0 || port > 65535)
    return fail(ErrorCode::bad_request, "--http: bad port in \"" + host_port + "\"");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return fail(ErrorCode::bad_request, "--http: \"" + host + "\" is not an IP address");
  auto acc = std::make_shared<Acceptor<tcp>>(io_, hooks_);
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  acc->acceptor.open(ep.protocol(), ec);
  if (!ec) acc->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->acceptor.bind(ep, ec);
  if (!ec) acc->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(ErrorCode::io, "cannot listen on " + host_port + ": " + ec.message() +
                                   (ec == asio::error::address_in_use ? " (is another agent running? use --http HOST:PORT)" : ""));
  tcp_port_ = acc->acceptor.local_endpoint().port();
  acc->accept();
  closers_.push_back([acc] {
    boost::system::error_code ignore;
    acc->acceptor.close(ignore);
  });
  return {};
}

Result<void> Server::listen_unix(const std::string& path, unsigned mode, const std::string& group) {
  namespace fs = std::filesystem;
  std::error_code fec;
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), fec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return fail(ErrorCode::io, "--socket " + path + " exists and is not a socket; remove it or pick another path");
    // A live agent answers a connect; a crashed one left a dead file behind.
    local::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(local::endpoint(path), ec);
    if (!ec) return fail(ErrorCode::io, "another agent is already listening on " + path);
    ::unlink(path.c_str());
  }
  auto acc = std::make_shared<Acceptor<local>>(io_, hooks_);
  boost::system::error_code ec;
  acc->acceptor.open(local(), ec);
  if (!ec) acc->acceptor.bind(local::endpoint(path), ec);
  if (ec) return fail(ErrorCode::io, "cannot create socket " + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0)
    return fail(ErrorCode::io, "cannot set mode of " + path + ": " + std::strerror(errno));
  if (!group.empty()) {
    struct group* g = ::getgrnam(group.c_str());
    if (!g) return fail(ErrorCode::bad_request, "--socket-group: no group \"" + group + "\"");
    if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      return fail(ErrorCode::io, "cannot give " + path + " to group " + group + ": " + std::strerror(errno));
  }
  acc->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::io, "cannot listen on " + path + ": " + ec.message());
  unix_path_ = path;
  acc->accept();
  closers_.push_back([acc] {
    boost::system::error_code ignore;
    acc->acceptor.close(ignore);
  });
  return {};
}

void Server::shutdown() {
  hooks_->stopping = true;
  for (auto& close : closers_) close();
  closers_.clear();
  if (!unix_path_.empty()) {
    ::unlink(unix_path_.c_str());
    unix_path_.clear();
  }
  std::vector<std::weak_ptr<SessionBase>> sessions;
  {
    std::lock_guard lock(hooks_->mu);
    sessions.swap(hooks_->sessions);
  }
  for (auto& w : sessions)
    if (auto s = w.lock()) s->close_if_idle();
}

}  // namespace sonde::serve
