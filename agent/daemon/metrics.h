// /metrics in Prometheus text exposition format 0.0.4.
#pragma once

#include <optional>
#include <string>

#include "protocol/status_doc.h"
#include "serve/request_stats.h"
#include "target/node_facts.h"

namespace sonde::daemon {

// `health`: the node health checker's state, when --health-url is set.
std::string metrics_text(const std::optional<target::NodeFacts>& node, double agent_uptime,
                         const serve::RequestStats& requests,
                         const std::optional<protocol::HealthSummary>& health = std::nullopt);

}  // namespace sonde::daemon
