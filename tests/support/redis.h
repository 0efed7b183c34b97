// redis-server from Debian (jemalloc inside) as a node for tests: started on
// a free loopback port with no persistence, in a fresh folder, and killed by
// its pid when the object goes. A test calls RedisServer::require() first:
// it exits 77 (skipped, loudly) where redis-server is not installed.
#pragma once

#include <string>
#include <vector>

#include "child.h"

namespace sonde::test {

class RedisServer {
 public:
  static void require();
  // Starts it and waits for "Ready to accept connections"; `extra` are more
  // redis-server options ("--enable-debug-command", "yes", ...).
  explicit RedisServer(const std::vector<std::string>& extra = {});
  bool ready() const { return ready_; }
  pid_t pid() const { return child_.pid(); }
  int port() const { return port_; }
  // redis-cli -p PORT ARGS...: its stdout ("" if it failed).
  std::string cli(const std::vector<std::string>& args) const;
  // A field of INFO (e.g. "used_memory" from INFO memory); -1 if absent.
  long long info_field(const std::string& section, const std::string& field) const;

 private:
  TempDir dir_;
  int port_ = 0;
  Child child_;
  bool ready_ = false;
};

}  // namespace sonde::test
