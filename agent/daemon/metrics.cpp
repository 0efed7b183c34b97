#include "daemon/metrics.h"

#include <fmt/format.h>

namespace sonde::daemon {

namespace {
void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Label values escape backslash, quote and newline.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

std::string metrics_text(const std::optional<target::NodeFacts>& node, double agent_uptime,
                         const serve::RequestStats& requests, const std::optional<protocol::HealthSummary>& health) {
  std::string out;
  family(out, "sonde_node_attached", "gauge", "1 while the agent is attached to the node, else 0.");
  out += fmt::format("sonde_node_attached {}\n", node ? 1 : 0);
  if (node) {
    family(out, "sonde_node_resident_memory_bytes", "gauge", "Resident set size of the node.");
    out += fmt::format("sonde_node_resident_memory_bytes {}\n", node->memory_info.rss);
    family(out, "sonde_node_virtual_memory_bytes", "gauge", "Virtual memory size of the node.");
    out += fmt::format("sonde_node_virtual_memory_bytes {}\n", node->memory_info.vms);
    family(out, "sonde_node_threads", "gauge", "Threads of the node.");
    out += fmt::format("sonde_node_threads {}\n", node->num_threads);
    family(out, "sonde_node_cpu_seconds_total", "counter", "CPU time of the node by mode.");
    out += fmt::format("sonde_node_cpu_seconds_total{{mode=\"user\"}} {}\n", node->cpu_times.user);
    out += fmt::format("sonde_node_cpu_seconds_total{{mode=\"system\"}} {}\n", node->cpu_times.system);
    if (node->num_fds >= 0) {
      family(out, "sonde_node_open_fds", "gauge", "Open file descriptors of the node.");
      out += fmt::format("sonde_node_open_fds {}\n", node->num_fds);
    }
    family(out, "sonde_node_start_time_seconds", "gauge", "Start time of the node since the epoch.");
    out += fmt::format("sonde_node_start_time_seconds {:.2f}\n", node->start_time);
  }
  if (health) {
    family(out, "sonde_node_health_up", "gauge", "1 while the node's health check passes (--health-url), else 0.");
    out += fmt::format("sonde_node_health_up {}\n", health->healthy() ? 1 : 0);
    family(out, "sonde_node_health_latency_seconds", "gauge", "Latency of the last health check.");
    out += fmt::format("sonde_node_health_latency_seconds {:.6f}\n", health->last_latency_ms / 1000.0);
    family(out, "sonde_node_health_consecutive_failures", "gauge", "Health checks failed in a row.");
    out += fmt::format("sonde_node_health_consecutive_failures {}\n", health->consecutive_failures);
  }
  family(out, "sonde_agent_uptime_seconds", "gauge", "Seconds since the agent started.");
  out += fmt::format("sonde_agent_uptime_seconds {:.3f}\n", agent_uptime);
  family(out, "sonde_http_requests_total", "counter", "Requests answered by the agent, by route and status.");
  for (const auto& [key, n] : requests.snapshot())
    out += fmt::format("sonde_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", label(key.first),
                       key.second, n);
  return out;
}

}  // namespace sonde::daemon
