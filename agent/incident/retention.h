// Incident bundles never fill the disk: at most `keep` bundles and
// `max_bytes` in all; the oldest go first. The newest bundle is always kept,
// even when it alone is over the byte limit: it is the one being looked at.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::incident {

struct BundleSize {
  std::string id;
  uint64_t bytes = 0;
};

// Which bundles to remove, given all of them oldest first. `incoming` is the
// size of a bundle about to be published: it counts, and it is the newest.
std::vector<std::string> plan_removals(const std::vector<BundleSize>& oldest_first, uint64_t keep, uint64_t max_bytes,
                                       std::optional<uint64_t> incoming = std::nullopt);

// Applies the plan to the bundles in `incidents_dir`; returns the ids removed.
// Run before a new bundle is published, so the limits hold at every moment.
std::vector<std::string> prune(const std::string& incidents_dir, uint64_t keep, uint64_t max_bytes,
                               std::optional<uint64_t> incoming = std::nullopt);

// Half-written bundles a crash left behind.
void remove_partials(const std::string& incidents_dir);

}  // namespace sonde::incident
