// One HTTP GET to the node's health endpoint, asynchronous on the agent's
// io_context: it never blocks an I/O thread, and one deadline covers resolve,
// connect, write and read, so a node that accepts and never answers ends as
// "timeout" after exactly that long.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "health/health_target.h"

namespace sonde::health {

struct ProbeOutcome {
  int status = 0;          // the HTTP status, 0 when none came back
  std::string failure;     // when status is 0: "timeout", "refused", "closed", ...
  std::string detail;      // the error's message
  double latency_ms = 0;
};

// Lets the owner abandon a probe in flight (shutdown); the probe then ends
// with failure "cancelled" and still calls its callback once.
class ProbeHandle {
 public:
  virtual ~ProbeHandle() = default;
  virtual void cancel() = 0;
};

// Starts the probe; `done` is called exactly once, on an io_context thread.
std::shared_ptr<ProbeHandle> start_probe(boost::asio::io_context& io, const HealthTarget& target,
                                         std::chrono::milliseconds timeout,
                                         std::function<void(ProbeOutcome)> done);

// The log word for a network error: "refused", "closed", "reset", ...
std::string failure_word(const boost::system::error_code& ec);

}  // namespace sonde::health
