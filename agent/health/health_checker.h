// The node's health checker (the seed's health-checker thread, from
// outside): each check GETs the node's health URL, writes one line to
// node_health.log, updates the state shown in /api/status and /metrics, and
// reports the turn to unhealthy so an incident bundle can be written. It has
// no timer of its own: the scheduler calls check() at each tick, so safe mode
// stops it like every other job.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "health/check_result.h"
#include "health/health_probe.h"
#include "health/health_state.h"
#include "health/health_target.h"
#include "protocol/status_doc.h"

namespace sonde::health {

struct HealthOptions {
  HealthTarget target;
  std::chrono::milliseconds timeout{5000};
  int64_t failures = 1;          // failed checks in a row before the node is unhealthy
  std::size_t recent_lines = 200;  // kept in memory for incident bundles (health.log)
};

class HealthChecker {
 public:
  // `attached` says whether a node is attached now (a detached check calls nothing).
  HealthChecker(boost::asio::io_context& io, HealthOptions opts, std::function<bool()> attached);

  // Runs one check; `done` is called once its line is written (never blocks).
  void check(std::function<void(Result<void>)> done);
  // Abandons a check in flight (shutdown).
  void stop();

  // Called on an I/O thread when the node turns unhealthy; must return quickly.
  std::function<void(const CheckResult&)> on_unhealthy;

  protocol::HealthSummary summary() const;
  // The last lines written, oldest first.
  std::vector<std::string> recent_lines() const;

 private:
  void record(const CheckResult& r);

  boost::asio::io_context& io_;
  HealthOptions opts_;
  std::function<bool()> attached_;
  mutable std::mutex mu_;
  HealthState state_;
  std::deque<std::string> recent_;
  std::shared_ptr<ProbeHandle> in_flight_;
  bool stopped_ = false;
};

}  // namespace sonde::health
