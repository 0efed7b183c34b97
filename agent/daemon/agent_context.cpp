#include "daemon/agent_context.h"

namespace sonde::daemon {

serve::Handler AgentContext::with_node(NodeHandler h) const {
  return [this, h = std::move(h)](const serve::Request& req, serve::Reply reply) {
    auto node = tracker.current();
    if (!node) {
      reply(serve::Response::error(
          503, "node_unavailable",
          "no node attached (" + target::TargetSpec{cfg.pid, cfg.pid_file, cfg.match}.describe() +
              "); see /api/health and the agent log"));
      return;
    }
    h(*node, req, std::move(reply));
  };
}

void AgentContext::post_capture(const char* who, std::function<void()> job, const serve::Reply& reply) const {
  if (captures->post(who, std::move(job))) return;
  reply(serve::Response::error(409, "busy",
                               "another capture of the node is running and enough wait behind it; retry later"));
}

}  // namespace sonde::daemon
