#include "health/health_state.h"

namespace sonde::health {

Transition HealthState::record(const CheckResult& r) {
  ++checks_;
  last_ = r;
  switch (r.kind) {
    case CheckResult::Kind::detached:
      // A node that comes back starts from scratch: its first failures are a new incident.
      state_ = State::detached;
      consecutive_failures_ = 0;
      return Transition::none;
    case CheckResult::Kind::ok: {
      bool was_unhealthy = state_ == State::unhealthy;
      state_ = State::healthy;
      consecutive_failures_ = 0;
      return was_unhealthy ? Transition::recovered : Transition::none;
    }
    case CheckResult::Kind::fail:
      ++consecutive_failures_;
      if (state_ == State::detached) state_ = State::unknown;
      if (consecutive_failures_ >= failures_needed_ && state_ != State::unhealthy) {
        state_ = State::unhealthy;
        return Transition::became_unhealthy;
      }
      return Transition::none;
  }
  return Transition::none;
}

protocol::HealthSummary HealthState::summary() const {
  protocol::HealthSummary s;
  switch (state_) {
    case State::unknown: s.state = "unknown"; break;
    case State::healthy: s.state = "healthy"; break;
    case State::unhealthy: s.state = "unhealthy"; break;
    case State::detached: s.state = "detached"; break;
  }
  s.consecutive_failures = consecutive_failures_;
  s.checks = checks_;
  if (checks_ > 0) {
    s.last_check_time = last_.time;
    s.last_result = last_.result_text();
    s.last_latency_ms = last_.latency_ms;
  }
  return s;
}

}  // namespace sonde::health
