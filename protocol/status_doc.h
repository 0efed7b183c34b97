// The /api/status document (DESIGN.md §1): the agent, the node (null while
// detached) and the host's memory with psutil's names. `sonde status --pid`
// builds the same document without a daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "host/virtual_memory.h"
#include "target/node_facts.h"

namespace sonde::protocol {

struct AgentInfo {
  std::string agent_id;
  std::string agent_version;
  double agent_start_time = 0;  // epoch seconds
};

// The node's health as the agent's checker sees it (--health-url); absent
// from the document when no health URL is configured.
struct HealthSummary {
  std::string url;
  std::string state;              // "unknown" (no check yet), "healthy", "unhealthy", "detached"
  std::string last_result;        // "ok 200", "fail timeout", "detached" ("" before the first check)
  double last_check_time = 0;     // epoch seconds, 0 before the first check
  double last_latency_ms = 0;
  int64_t consecutive_failures = 0;
  int64_t checks = 0;
  bool healthy() const { return state == "healthy"; }
};

std::string status_json(const AgentInfo& agent, const std::optional<target::NodeFacts>& node,
                        const host::VirtualMemory& vm, double now,
                        const std::optional<HealthSummary>& health = std::nullopt);

// hostname/pid: unique per running agent, stable for its lifetime.
std::string make_agent_id();

}  // namespace sonde::protocol
