// GET /api/health, /api/status and /metrics.
#include "daemon/agent_context.h"
#include "daemon/metrics.h"
#include "protocol/iso_time.h"
#include "protocol/routes.h"

namespace sonde::daemon {

using serve::Reply;
using serve::Request;
using serve::Response;

void add_status_routes(AgentContext& ctx) {
  namespace routes = protocol::routes;
  ctx.router.add("GET", routes::health, [&ctx](const Request&, Reply reply) {
    bool attached = ctx.tracker.current().has_value();
    reply(Response::json(200, std::string("{\"status\": \"ok\", \"node_attached\": ") +
                                  (attached ? "true" : "false") + "}\n"));
  }, serve::Access::open);
  // A few small /proc files, cached briefly: quick enough for the I/O threads.
  ctx.router.add("GET", routes::status, [&ctx](const Request&, Reply reply) {
    auto facts = ctx.facts.get(ctx.tracker.current());
    reply(Response::json(200, protocol::status_json(ctx.info, facts.node, facts.host, protocol::now_epoch(),
                                                    ctx.health ? std::optional(ctx.health->summary()) : std::nullopt)));
  }, serve::Access::status);
  ctx.router.add("GET", routes::metrics, [&ctx](const Request&, Reply reply) {
    auto facts = ctx.facts.get(ctx.tracker.current());
    reply(Response::text(200,
                         metrics_text(facts.node, protocol::now_epoch() - ctx.info.agent_start_time,
                                      ctx.server.stats(),
                                      ctx.health ? std::optional(ctx.health->summary()) : std::nullopt),
                         "text/plain; version=0.0.4; charset=utf-8"));
  }, serve::Access::status);
}

}  // namespace sonde::daemon
