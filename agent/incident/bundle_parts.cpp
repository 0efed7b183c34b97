#include "incident/bundle_parts.h"

namespace sonde::incident {

const std::vector<std::pair<std::string, std::string>>& expected_files() {
  static const std::vector<std::pair<std::string, std::string>> files = {
      {"stacktrace.html", "every thread's stack, the seed's page (also rotated into the logs folder)"},
      {"stacks.json", "every thread's stack as JSON (DESIGN.md §1 schema)"},
      {"profile.pstat", "a short CPU profile, Python pstats format"},
      {"profile.html", "the same CPU profile as a flame graph"},
      {"heap.txt", "where the node's memory goes (/api/status/heap)"},
      {"status.json", "the /api/status document, including the health state"},
      {"health.log", "the last node_health.log lines before the incident"},
  };
  return files;
}

void BundleParts::add(BundlePart part) {
  std::lock_guard lock(mu_);
  parts_.push_back(std::move(part));
}

std::vector<BundlePart> BundleParts::all() const {
  std::lock_guard lock(mu_);
  return parts_;
}

}  // namespace sonde::incident
