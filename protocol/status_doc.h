// The /api/status document (DESIGN.md §1): the agent, the node (null while
// detached) and the host's memory with psutil's names. `sonde status --pid`
// builds the same document without a daemon.
#pragma once

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

std::string status_json(const AgentInfo& agent, const std::optional<target::NodeFacts>& node,
                        const host::VirtualMemory& vm, double now);

// hostname/pid: unique per running agent, stable for its lifetime.
std::string make_agent_id();

}  // namespace sonde::protocol
