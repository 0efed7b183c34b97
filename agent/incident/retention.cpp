#include "incident/retention.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "incident/bundle_writer.h"
#include "incident/incident_store.h"

namespace sonde::incident {

namespace fs = std::filesystem;

std::vector<std::string> plan_removals(const std::vector<BundleSize>& oldest_first, uint64_t keep, uint64_t max_bytes,
                                       std::optional<uint64_t> incoming) {
  uint64_t total = incoming.value_or(0);
  for (const auto& b : oldest_first) total += b.bytes;
  uint64_t count = oldest_first.size() + (incoming ? 1 : 0);
  std::vector<std::string> out;
  // Oldest first, and never the newest (the incoming one when there is one).
  size_t removable = incoming ? oldest_first.size() : (oldest_first.empty() ? 0 : oldest_first.size() - 1);
  for (size_t i = 0; i < removable; ++i) {
    if (count <= keep && total <= max_bytes) break;
    out.push_back(oldest_first[i].id);
    total -= oldest_first[i].bytes;
    --count;
  }
  return out;
}

std::vector<std::string> prune(const std::string& incidents_dir, uint64_t keep, uint64_t max_bytes,
                               std::optional<uint64_t> incoming) {
  std::vector<BundleSize> sizes;
  for (const auto& b : list_bundles(incidents_dir)) sizes.push_back({b.id, b.bytes});
  auto remove = plan_removals(sizes, keep, max_bytes, incoming);
  for (const auto& id : remove) {
    std::error_code ec;
    fs::remove_all(fs::path(incidents_dir) / id, ec);
    if (ec) spdlog::warn("cannot remove old incident {}: {}", id, ec.message());
    else spdlog::info("removed old incident {} (keeping {} bundles, {} bytes at most)", id, keep, max_bytes);
  }
  return remove;
}

void remove_partials(const std::string& incidents_dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(incidents_dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(kPartialPrefix, 0) != 0) continue;
    std::error_code rm;
    fs::remove_all(e.path(), rm);
    spdlog::info("removed half-written incident {}", name);
  }
}

}  // namespace sonde::incident
