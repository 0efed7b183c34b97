#include "health_server.h"

#include <pthread.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <set>

#include "health_routes.h"
#include "stop_signal.h"

namespace demo::http {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Shared with the detached connection threads, so it outlives the server object
// if one of them is slow to leave.
struct ServerState {
  asio::io_context ioc;  // sync sockets only; never run
  tcp::acceptor acceptor{ioc};
  ModeSwitch modes;
  std::mutex conns_mutex;
  std::condition_variable conns_gone;
  std::set<int> open_fds;  // connection sockets, so stop() can cut them
};

namespace {

void serve(const std::shared_ptr<ServerState>& st, tcp::socket sock) {
  boost::beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (!stopping().load()) {
    Request req;
    boost::beast::http::read(sock, buffer, req, ec);
    if (ec) break;
    auto res = route(st->modes, req);
    if (!res) break;  // mode=close (or shutdown): drop the connection unanswered
    boost::beast::http::write(sock, *res, ec);
    if (ec || !res->keep_alive()) break;
  }
  // Forget the fd and close it under the lock: stop() must never shut down a
  // number that was already reused by another socket.
  std::lock_guard lock(st->conns_mutex);
  st->open_fds.erase(sock.native_handle());
  sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
  st->conns_gone.notify_all();
}

void accept_loop(const std::shared_ptr<ServerState>& st) {
  while (!stopping().load()) {
    tcp::socket sock(st->ioc);
    boost::system::error_code ec;
    st->acceptor.accept(sock, ec);
    if (ec) {
      if (stopping().load()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. EMFILE: do not spin
      continue;
    }
    std::lock_guard lock(st->conns_mutex);
    st->open_fds.insert(sock.native_handle());
    std::thread([st, s = std::move(sock)]() mutable {
      pthread_setname_np(pthread_self(), "http-conn");
      serve(st, std::move(s));
    }).detach();
  }
}

}  // namespace

HealthServer::HealthServer(unsigned short port) : state_(std::make_shared<ServerState>()) {
  tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
  auto& a = state_->acceptor;
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));  // restart right after a stop (TIME_WAIT)
  a.bind(ep);
  a.listen();
}

HealthServer::~HealthServer() = default;

unsigned short HealthServer::port() const { return state_->acceptor.local_endpoint().port(); }

std::thread HealthServer::start(std::latch& started) {
  return std::thread([st = state_, &started] {
    pthread_setname_np(pthread_self(), "http");
    started.count_down();
    accept_loop(st);
  });
}

void HealthServer::stop() {
  auto& st = *state_;
  // shutdown() on a listening socket makes a blocked accept() return on Linux;
  // close() alone would not wake it.
  ::shutdown(st.acceptor.native_handle(), SHUT_RDWR);
  st.modes.wake_all();
  std::unique_lock lock(st.conns_mutex);
  for (int fd : st.open_fds) ::shutdown(fd, SHUT_RDWR);
  st.conns_gone.wait_for(lock, std::chrono::milliseconds(100),
                         [&] { return st.open_fds.empty(); });
}

}  // namespace demo::http
