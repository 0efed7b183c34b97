// GET /api/incidents (the bundles, oldest first), GET /api/incidents/ID (one
// bundle's files) and GET /api/incidents/ID/FILE (a download); and the core
// parts of every bundle: status.json, health.log, stacktrace.html, stacks.json,
// heap.txt. The CPU profile (profile.pstat, profile.html) is not a part yet.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/agent_context.h"
#include "incident/incident_store.h"
#include "memory/heap_render.h"
#include "memory/heap_report.h"
#include "protocol/iso_time.h"
#include "protocol/routes.h"
#include "render/stack_renderer.h"

namespace sonde::daemon {

using serve::Reply;
using serve::Request;
using serve::Response;

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void bundle_json(Writer& w, const incident::BundleListing& b) {
  w.StartObject();
  w.Key("id");
  w.String(b.id.c_str());
  w.Key("time");
  w.String(protocol::iso_utc(b.time).c_str());
  w.Key("bytes");
  w.Uint64(b.bytes);
  w.Key("files");
  w.StartArray();
  for (const auto& f : b.files) {
    w.StartObject();
    w.Key("name");
    w.String(f.name.c_str());
    w.Key("bytes");
    w.Uint64(f.bytes);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string list_json(const AgentContext& ctx, const std::vector<incident::BundleListing>& bundles) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("dir");
  w.String(ctx.incidents->dir().c_str());
  w.Key("cooldown_seconds");
  w.Double(ctx.cfg.incident_cooldown);
  w.Key("keep");
  w.Int64(ctx.cfg.incident_keep);
  w.Key("max_bytes");
  w.Int64(ctx.cfg.incident_max_bytes);
  w.Key("incidents");
  w.StartArray();
  for (const auto& b : bundles) bundle_json(w, b);
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string content_type_of(const std::string& file) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return file.size() >= e.size() && file.compare(file.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".txt") || ends(".log")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

Result<void> write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) return fail(ErrorCode::io, "cannot write " + path + " (disk full?)");
  return {};
}

// The parts every bundle has; the quick snapshots first, so they show the
// moment of the incident, then the stacks.
void register_core_parts(AgentContext& ctx) {
  auto& parts = ctx.incidents->parts();
  parts.add({"status", {"status.json"}, [&ctx](const std::string& dir) -> Result<void> {
               auto facts = ctx.facts.get(ctx.tracker.current());
               std::optional<protocol::HealthSummary> health;
               if (ctx.health) health = ctx.health->summary();
               return write_text(dir + "/status.json", protocol::status_json(ctx.info, facts.node, facts.host,
                                                                             protocol::now_epoch(), health));
             }});
  parts.add({"health", {"health.log"}, [&ctx](const std::string& dir) -> Result<void> {
               if (!ctx.health) return fail(ErrorCode::internal, "no health checker");
               std::string text;
               for (const auto& l : ctx.health->recent_lines()) text += l + "\n";
               return write_text(dir + "/health.log", text);
             }});
  // The seed's behaviour: a failed health check rotates LOGS/stacktrace.html
  // exactly as SIGUSR1 does; the bundle keeps a copy of that page.
  parts.add({"stacktrace", {"stacktrace.html"}, [&ctx](const std::string& dir) -> Result<void> {
               auto page = write_stacktrace_file(ctx);
               if (!page) return std::unexpected(page.error());
               std::error_code ec;
               std::filesystem::copy_file(*page, dir + "/stacktrace.html",
                                          std::filesystem::copy_options::overwrite_existing, ec);
               if (ec) return fail(ErrorCode::io, "cannot copy " + *page + ": " + ec.message());
               return {};
             }});
  parts.add({"stacks-json", {"stacks.json"}, [&ctx](const std::string& dir) -> Result<void> {
               auto node = ctx.tracker.current();
               if (!node) return fail(ErrorCode::no_node, "no node attached");
               auto dump = ctx.dumper.dump(node->pid, {});
               if (!dump) return std::unexpected(dump.error());
               return write_text(dir + "/stacks.json", render::make_json_stacks()->render(*dump));
             }});
  // The same text as GET /api/status/heap.
  parts.add({"heap", {"heap.txt"}, [&ctx](const std::string& dir) -> Result<void> {
               auto node = ctx.tracker.current();
               if (!node) return fail(ErrorCode::no_node, "no node attached");
               auto report = memory::build_heap_report(node->pid, {});
               if (!report) return std::unexpected(report.error());
               return write_text(dir + "/heap.txt", memory::render_heap_text(*report));
             }});
}

}  // namespace

void add_incident_routes(AgentContext& ctx) {
  register_core_parts(ctx);
  const std::string prefix = protocol::routes::incidents;
  ctx.router.add("GET", prefix, [&ctx](const Request&, Reply reply) {
    reply(Response::json(200, list_json(ctx, incident::list_bundles(ctx.incidents->dir()))));
  });
  ctx.router.add_prefix("GET", prefix, [&ctx, prefix](const Request& req, Reply reply) {
    std::string rest = req.path.substr(prefix.size() + 1);
    auto slash = rest.find('/');
    std::string id = rest.substr(0, slash);
    if (slash == std::string::npos) {
      auto b = incident::find_bundle(ctx.incidents->dir(), id);
      if (!b) return reply(Response::error(b.error()));
      rapidjson::StringBuffer buf;
      Writer w(buf);
      bundle_json(w, *b);
      return reply(Response::json(200, std::string(buf.GetString(), buf.GetSize()) + "\n"));
    }
    std::string file = rest.substr(slash + 1);
    if (file.find('/') != std::string::npos)
      return reply(Response::error(400, "bad_request", "a bundle has no folders: use /api/incidents/ID/FILE"));
    auto path = incident::bundle_file_path(ctx.incidents->dir(), id, file);
    if (!path) return reply(Response::error(path.error()));
    // Files of a bundle can be megabytes: streamed from disk by the server, never read whole.
    auto type = content_type_of(file);
    auto r = Response::file_at(*path, type);
    bool text = type.rfind("text/", 0) == 0 || type == "application/json";
    r.headers.emplace_back("Content-Disposition", std::string(text ? "inline" : "attachment") +
                                                      "; filename=\"" + id + "-" + file + "\"");
    reply(std::move(r));
  });
}

}  // namespace sonde::daemon
