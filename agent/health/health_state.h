// The node's health as a small state machine over check results: healthy
// until `failures_needed` checks in a row fail, then unhealthy until one
// passes. "detached" (no node) is its own state: it is never the node's fault,
// so it neither counts as a failure nor makes an incident. Not thread-safe:
// the checker holds it under its lock.
#pragma once

#include <cstdint>
#include <string>

#include "health/check_result.h"
#include "protocol/status_doc.h"

namespace sonde::health {

enum class Transition { none, became_unhealthy, recovered };

class HealthState {
 public:
  explicit HealthState(int64_t failures_needed) : failures_needed_(failures_needed < 1 ? 1 : failures_needed) {}

  Transition record(const CheckResult& r);

  // The summary for /api/status and /metrics (url filled in by the caller).
  protocol::HealthSummary summary() const;
  bool up() const { return state_ == State::healthy; }

 private:
  enum class State { unknown, healthy, unhealthy, detached };
  int64_t failures_needed_;
  State state_ = State::unknown;
  int64_t consecutive_failures_ = 0;
  int64_t checks_ = 0;
  CheckResult last_;
};

}  // namespace sonde::health
