// GET /api/status/heap[?format=text|json] and GET /api/status/debugmallocstats:
// where the node's memory goes, read from outside (procfs + the read-only
// glibc walk; with --allow-inject, jemalloc's mallctl or glibc's mallinfo2
// run on one waiting thread of the node, logged by target/remote_call). Both read /proc and the node's memory for milliseconds to
// tens of them, so the work runs on ctx.workers, never on an I/O thread.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "daemon/agent_context.h"
#include "memory/heap_render.h"
#include "memory/heap_report.h"
#include "protocol/routes.h"

namespace sonde::daemon {

using serve::Reply;
using serve::Request;
using serve::Response;

void add_memory_routes(AgentContext& ctx) {
  ctx.router.add("GET", protocol::routes::heap,
                 ctx.with_node([&ctx](const target::NodeId& node, const Request& req, Reply reply) {
                   std::string format = req.query.count("format") ? req.query.at("format") : "text";
                   if (format != "text" && format != "json") {
                     reply(Response::error(400, "bad_request", "unknown format \"" + format + "\"; use text or json"));
                     return;
                   }
                   memory::HeapOptions opts;
                   opts.inject.allowed = ctx.cfg.allow_inject;
                   ctx.post_capture("heap", [node, format, reply, opts] {
                     if (!target::still_alive(node)) {
                       reply(Response::error(503, "node_unavailable", "the node exited"));
                       return;
                     }
                     auto report = memory::build_heap_report(node.pid, opts);
                     if (!report) {
                       spdlog::warn("heap report of pid {} failed: {}", node.pid, report.error().message);
                       reply(Response::error(report.error()));
                       return;
                     }
                     if (format == "json")
                       reply(Response::text(200, memory::render_heap_json(*report), "application/json"));
                     else
                       reply(Response::text(200, memory::render_heap_text(*report), "text/plain; charset=utf-8"));
                   }, reply);
                 }));
  ctx.router.add("GET", protocol::routes::mallocstats,
                 ctx.with_node([&ctx](const target::NodeId& node, const Request&, Reply reply) {
                   memory::InjectOptions inject;
                   inject.allowed = ctx.cfg.allow_inject;
                   ctx.post_capture("mallocstats", [node, reply, inject] {
                     if (!target::still_alive(node)) {
                       reply(Response::error(503, "node_unavailable", "the node exited"));
                       return;
                     }
                     auto stats = memory::build_malloc_stats(node.pid, {}, inject);
                     if (!stats) {
                       reply(Response::error(stats.error()));
                       return;
                     }
                     reply(Response::text(200, memory::render_malloc_stats_text(*stats), "text/plain; charset=utf-8"));
                   }, reply);
                 }));
}

}  // namespace sonde::daemon
