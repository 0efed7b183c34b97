#include "health/check_result.h"

#include <fmt/format.h>

#include "protocol/iso_time.h"

namespace sonde::health {

std::string CheckResult::result_text() const {
  switch (kind) {
    case Kind::detached:
      return "detached";
    case Kind::ok:
      return "ok " + std::to_string(status);
    case Kind::fail:
      return "fail " + (status ? std::to_string(status) : failure);
  }
  return "";
}

bool failure_needs_detail(const std::string& failure) {
  return failure == "error" || failure == "protocol" || failure == "resolve";
}

std::string health_line(const CheckResult& r) {
  std::string line = protocol::iso_utc(r.time) + " " + r.result_text();
  if (r.kind == CheckResult::Kind::detached) return line;
  line += fmt::format(" {:.1f}ms", r.latency_ms);
  if (r.kind == CheckResult::Kind::fail && !r.status && failure_needs_detail(r.failure) && !r.detail.empty()) {
    // One line per check, whatever the message holds.
    std::string d = r.detail;
    for (auto& c : d)
      if (c == '\n' || c == '\r') c = ' ';
    line += " " + d;
  }
  return line;
}

}  // namespace sonde::health
