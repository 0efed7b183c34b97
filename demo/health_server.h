// The demo node's own HTTP service on 127.0.0.1:PORT (thread "http"), the thing an
// operator's health probe hits: GET /api/health, POST /demo/health?mode=... .
// Synchronous Boost.Beast, one detached thread per connection, so a request hung
// on purpose (mode=hang) never blocks the other connections.
#pragma once

#include <latch>
#include <memory>
#include <thread>

namespace demo::http {

struct ServerState;

class HealthServer {
 public:
  // Binds and listens; throws std::system_error (e.g. address in use).
  explicit HealthServer(unsigned short port);
  ~HealthServer();
  unsigned short port() const;
  // Runs the accept loop on a thread named "http".
  std::thread start(std::latch& started);
  // Unblocks accept, cuts open connections, wakes hung requests, and waits
  // briefly for the connection threads to leave.
  void stop();

 private:
  std::shared_ptr<ServerState> state_;
};

}  // namespace demo::http
