#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <chrono>

namespace sonde::daemon {

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io) : timer_(io) {
  if (sd_watchdog_enabled(0, &watchdog_usec_) <= 0) watchdog_usec_ = 0;
}

void SystemdNotifier::ready(const std::string& s) {
  sd_notifyf(0, "READY=1\nSTATUS=%s", s.c_str());
  if (watchdog_usec_) ping();
}

void SystemdNotifier::status(const std::string& s) { sd_notifyf(0, "STATUS=%s", s.c_str()); }

void SystemdNotifier::stopping() {
  stopped_ = true;
  timer_.cancel();
  sd_notify(0, "STOPPING=1");
}

void SystemdNotifier::ping() {
  sd_notify(0, "WATCHDOG=1");
  timer_.expires_after(std::chrono::microseconds(watchdog_usec_ / 2));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopped_) ping();
  });
}

}  // namespace sonde::daemon
