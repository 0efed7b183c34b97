// GET /api/status/stacktrace and the stacktrace.html file (SIGUSR1).
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <memory>

#include "daemon/agent_context.h"
#include "log/rotated_file.h"
#include "protocol/routes.h"
#include "render/stack_renderer.h"

namespace sonde::daemon {

using serve::Reply;
using serve::Request;
using serve::Response;

void add_stack_routes(AgentContext& ctx) {
  ctx.router.add("GET", protocol::routes::stacktrace,
                 ctx.with_node([&ctx](const target::NodeId& node, const Request& req, Reply reply) {
                   std::string format = req.query.count("format") ? req.query.at("format") : "html";
                   std::shared_ptr<render::StackRenderer> renderer = render::stack_renderer(format);
                   if (!renderer) {
                     reply(Response::error(400, "bad_request",
                                           "unknown format \"" + format + "\"; use html, json or text"));
                     return;
                   }
                   auto consistent = protocol::param_bool(req.query, "consistent");
                   if (!consistent) {
                     reply(Response::error(consistent.error()));
                     return;
                   }
                   auto python_only = protocol::param_bool(req.query, "python_only");
                   auto native_only = protocol::param_bool(req.query, "native_only");
                   if (!python_only || !native_only) {
                     reply(Response::error(!python_only ? python_only.error() : native_only.error()));
                     return;
                   }
                   aggregate::DumpOptions opts;
                   opts.consistent = consistent->value_or(false);
                   opts.python_only = python_only->value_or(false);
                   opts.native_only = native_only->value_or(false);
                   if (opts.python_only && opts.native_only) {
                     reply(Response::error(400, "bad_request", "python_only and native_only exclude each other"));
                     return;
                   }
                   // A capture takes milliseconds to tens of them: never on the I/O threads.
                   ctx.post_capture("stacktrace", [&ctx, node, opts, renderer, reply] {
                     if (!target::still_alive(node)) {
                       reply(Response::error(503, "node_unavailable", "the node exited"));
                       return;
                     }
                     auto dump = ctx.dumper.dump(node.pid, opts);
                     if (!dump) {
                       spdlog::warn("stack dump of pid {} failed: {}", node.pid, dump.error().message);
                       reply(Response::error(dump.error()));
                       return;
                     }
                     reply(Response::text(200, renderer->render(*dump), renderer->content_type()));
                   }, reply);
                 }));
}

Result<std::string> write_stacktrace_file(AgentContext& ctx) {
  auto node = ctx.tracker.current();
  if (!node) return fail(ErrorCode::no_node, "no node attached, no stacktrace.html written");
  auto dump = ctx.dumper.dump(node->pid, {});
  if (!dump) return std::unexpected(dump.error());
  std::string path = ctx.cfg.logs + "/stacktrace.html";
  auto html = render::make_html_stacks()->render(*dump);
  if (auto r = log::write_rotated(path, html, static_cast<int>(ctx.cfg.stacktrace_keep)); !r)
    return std::unexpected(r.error());
  spdlog::info("wrote {} ({} threads, {:.1f} ms)", path, dump->threads.size(), dump->wall_ms);
  return path;
}

}  // namespace sonde::daemon
