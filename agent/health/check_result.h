// One health check's outcome and its line in node_health.log (DESIGN.md §1):
//   2026-11-28T10:00:00Z ok 200 3.1ms
//   2026-11-28T10:00:00Z fail 500 12.3ms
//   2026-11-28T10:00:00Z fail timeout 5000.0ms
//   2026-11-28T10:00:00Z fail refused 0.2ms
//   2026-11-28T10:00:00Z detached
// A failure whose word alone does not explain it (error, protocol, resolve)
// carries its message after the latency.
#pragma once

#include <string>

namespace sonde::health {

struct CheckResult {
  enum class Kind { ok, fail, detached };
  Kind kind = Kind::fail;
  double time = 0;         // epoch seconds when the check started
  int status = 0;          // HTTP status when an answer came back, else 0
  std::string failure;     // "timeout", "refused", "closed", "reset", ... when no answer
  std::string detail;      // extra text for failures that need it
  double latency_ms = 0;   // from the start of connecting to the end of the answer

  // "ok 200", "fail 500", "fail timeout", "detached": the result field of the line.
  std::string result_text() const;
};

std::string health_line(const CheckResult& r);

// The failure words that need their message spelled out in the line.
bool failure_needs_detail(const std::string& failure);

}  // namespace sonde::health
