// /metrics in Prometheus text exposition format 0.0.4.
#pragma once

#include <optional>
#include <string>

#include "serve/request_stats.h"
#include "target/node_facts.h"

namespace sonde::daemon {

std::string metrics_text(const std::optional<target::NodeFacts>& node, double agent_uptime,
                         const serve::RequestStats& requests);

}  // namespace sonde::daemon
