// systemd's Type=notify protocol: READY once serving, WATCHDOG pings from the
// I/O thread (so a wedged event loop stops them and systemd restarts us),
// STOPPING on the way out. All no-ops outside systemd.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>

namespace sonde::daemon {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(boost::asio::io_context& io);
  void ready(const std::string& status);
  void status(const std::string& status);
  void stopping();

 private:
  void ping();
  boost::asio::steady_timer timer_;
  uint64_t watchdog_usec_ = 0;
  bool stopped_ = false;
};

}  // namespace sonde::daemon
