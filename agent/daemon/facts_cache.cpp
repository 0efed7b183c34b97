#include "daemon/facts_cache.h"

namespace sonde::daemon {

FactsCache::Facts FactsCache::get(const std::optional<target::NodeId>& node) {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now - read_at_ < ttl_ && read_for_ == node) return facts_;
  facts_.node.reset();
  if (node) {
    if (auto f = target::read_node_facts(*node)) facts_.node = std::move(*f);
  }
  if (auto vm = host::read_virtual_memory()) facts_.host = *vm;
  read_at_ = now;
  read_for_ = node;
  return facts_;
}

}  // namespace sonde::daemon
