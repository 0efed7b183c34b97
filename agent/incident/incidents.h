// Turns "the node became unhealthy" into an incident bundle: at most one per
// cool-down, written on the worker pool (it takes stacks: never on an I/O
// thread) while holding the capture gate, then old bundles are pruned.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "incident/bundle_parts.h"
#include "schedule/capture_gate.h"

namespace sonde::incident {

struct IncidentOptions {
  std::string dir;               // LOGS/incidents
  double cooldown_seconds = 300;
  uint64_t keep = 10;
  uint64_t max_bytes = 200ull << 20;
};

class Incidents {
 public:
  Incidents(IncidentOptions opts, boost::asio::thread_pool& workers, schedule::CaptureGate& gate);

  // Features register what goes into a bundle here (see bundle_parts.h).
  BundleParts& parts() { return parts_; }
  const std::string& dir() const { return opts_.dir; }

  // The node turned unhealthy (`reason`: "fail 500"). Starts a bundle unless
  // one was started less than a cool-down ago; returns whether it did.
  bool trigger(const std::string& reason);
  // Bundles written since start, and those skipped by the cool-down.
  int64_t written() const { return written_.load(); }
  int64_t suppressed() const { return suppressed_.load(); }

 private:
  void write(const std::string& reason, double epoch);

  IncidentOptions opts_;
  boost::asio::thread_pool& workers_;
  schedule::CaptureGate& gate_;
  BundleParts parts_;
  std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> last_;
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> suppressed_{0};
};

}  // namespace sonde::incident
