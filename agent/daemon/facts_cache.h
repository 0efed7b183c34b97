// The node's and the host's facts for /api/status and /metrics, re-read at
// most every `ttl`: a dashboard polling hard costs the agent one set of /proc
// reads per period, not per request. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "host/virtual_memory.h"
#include "target/node.h"
#include "target/node_facts.h"

namespace sonde::daemon {

class FactsCache {
 public:
  explicit FactsCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  struct Facts {
    std::optional<target::NodeFacts> node;
    host::VirtualMemory host;
  };
  Facts get(const std::optional<target::NodeId>& node);

 private:
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point read_at_{};
  std::optional<target::NodeId> read_for_;
  Facts facts_;
};

}  // namespace sonde::daemon
