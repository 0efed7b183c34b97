// CPU profiles (DESIGN.md §1): GET /api/profile answers a file,
// POST /api/profiles profiles in the background into the logs folder,
// GET /api/profiles lists those files, GET /api/profiles/FILE downloads one;
// and the incident bundle's profile.pstat + profile.html.
//
// A profile lasts seconds to minutes: it runs on a thread of its own, not on
// ctx.workers (two threads that stack dumps and heap reports need). One
// profile at a time (CpuProfiler's lease): a second request gets 409 at
// once instead of a second probe set on the node.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "aggregate/cpu_profiler.h"
#include "daemon/agent_context.h"
#include "daemon/profile_files.h"
#include "protocol/iso_time.h"
#include "protocol/routes.h"
#include "render/profile_renderer.h"

namespace sonde::daemon {

using serve::Reply;
using serve::Request;
using serve::Response;

namespace {

// The profiler and the one thread a profile runs on. Destroyed with the
// routes: a running profile is cut short (partial) and joined, so the probe
// is detached before the agent goes.
struct ProfileService {
  aggregate::CpuProfiler profiler;
  std::mutex mu;
  std::thread runner;

  void spawn(std::function<void()> job) {
    std::lock_guard lock(mu);
    if (runner.joinable()) runner.join();  // the last profile's thread, already past its lease
    runner = std::thread(std::move(job));
  }
  ~ProfileService() {
    profiler.cancel();
    std::lock_guard lock(mu);
    if (runner.joinable()) runner.join();
  }
};

std::string joined_formats() {
  std::string s;
  for (const auto& f : render::profile_formats()) s += (s.empty() ? "" : ", ") + f;
  return s;
}

// seconds, hz, threads and sampler from `p` into `rq`; the message names the bound.
Result<void> read_profile_params(const protocol::Params& p, aggregate::ProfileRequest& rq, pid_t pid) {
  auto seconds = protocol::param_number(p, "seconds", 0, aggregate::kMaxProfileSeconds);
  if (!seconds) return std::unexpected(seconds.error());
  if (*seconds) {
    if (**seconds <= 0) return fail(ErrorCode::bad_request, "parameter seconds must be > 0 and <= 600");
    rq.seconds = **seconds;
  }
  auto hz = protocol::param_number(p, "hz", 1, aggregate::kMaxProfileHz);
  if (!hz) return std::unexpected(hz.error());
  if (*hz) rq.hz = static_cast<int>(std::lround(**hz));
  if (auto it = p.find("threads"); it != p.end() && it->second != "all") {
    char* end = nullptr;
    long tid = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end || tid <= 0)
      return fail(ErrorCode::bad_request, "parameter threads must be \"all\" or a thread id of the node");
    std::error_code ec;
    if (!std::filesystem::exists("/proc/" + std::to_string(pid) + "/task/" + it->second, ec))
      return fail(ErrorCode::bad_request, "thread " + it->second + " is not a thread of the node (pid " +
                                              std::to_string(pid) + "); see /api/status/stacktrace");
    rq.tid = static_cast<pid_t>(tid);
  }
  if (auto it = p.find("sampler"); it != p.end()) {
    if (it->second != "auto" && it->second != "ebpf" && it->second != "ptrace")
      return fail(ErrorCode::bad_request, "parameter sampler must be auto, ebpf or ptrace");
    rq.sampler = it->second;
  }
  auto python_only = protocol::param_bool(p, "python_only");
  if (!python_only) return std::unexpected(python_only.error());
  auto native_only = protocol::param_bool(p, "native_only");
  if (!native_only) return std::unexpected(native_only.error());
  rq.python_only = python_only->value_or(false);
  rq.native_only = native_only->value_or(false);
  if (rq.python_only && rq.native_only)
    return fail(ErrorCode::bad_request, "python_only and native_only exclude each other");
  return {};
}

std::string exe_base(const aggregate::Profile& p) {
  std::string base = std::filesystem::path(p.info.exe).filename().string();
  return base.empty() ? "pid" + std::to_string(p.info.pid) : base;
}

void add_run_headers(Response& r, const aggregate::Profile& p) {
  if (p.info.partial) r.headers.emplace_back("X-Sonde-Partial", "true");
  r.headers.emplace_back("X-Sonde-Sampler", p.info.sampler);
  r.headers.emplace_back("X-Sonde-Samples", std::to_string(p.info.samples));
  r.headers.emplace_back("X-Sonde-Dropped", std::to_string(p.info.dropped));
}

// POST /api/profiles takes a form, a query or JSON (DESIGN.md §1): all merged, the body winning.
Result<protocol::Params> post_params(const Request& req) {
  protocol::Params p = req.query;
  std::string type = req.header("content-type");
  bool json = type.find("json") != std::string::npos || (!req.body.empty() && req.body.front() == '{');
  if (json) {
    rapidjson::Document d;
    d.Parse(req.body.c_str());
    if (d.HasParseError() || !d.IsObject()) return fail(ErrorCode::bad_request, "the body is not a JSON object");
    for (auto& m : d.GetObject()) {
      if (m.value.IsString()) p[m.name.GetString()] = m.value.GetString();
      else if (m.value.IsNumber()) {
        std::ostringstream os;
        os << m.value.GetDouble();
        p[m.name.GetString()] = os.str();
      }
    }
  } else if (!req.body.empty()) {
    auto form = protocol::parse_params(req.body);
    if (!form) return std::unexpected(form.error());
    for (auto& [k, v] : *form) p[k] = v;
  }
  return p;
}

std::string list_json(const std::string& dir) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("dir");
  w.String(dir.c_str());
  w.Key("profiles");
  w.StartArray();
  for (const auto& f : list_profile_files(dir)) {
    w.StartObject();
    w.Key("name");
    w.String(f.name.c_str());
    w.Key("size");
    w.Uint64(f.size);
    w.Key("time");
    w.String(protocol::iso_utc(f.time).c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

// The one service of the agent: the routes and the bundle part share its profiler.
// Weak: the routes and the part own it, so it goes (and joins its profile) with them.
std::weak_ptr<ProfileService>& service() {
  static std::weak_ptr<ProfileService> svc;
  return svc;
}

}  // namespace

void add_profile_bundle_part(AgentContext& ctx) {
  auto svc = service().lock();
  if (!svc || !ctx.incidents || ctx.cfg.incident_profile_seconds <= 0) return;
  ctx.incidents->parts().add(
      {"profile", {"profile.pstat", "profile.html"}, [&ctx, svc](const std::string& dir) -> Result<void> {
         auto node = ctx.tracker.current();
         if (!node) return fail(ErrorCode::no_node, "no node attached");
         auto lease = svc->profiler.try_acquire();
         if (!lease) return std::unexpected(aggregate::CpuProfiler::busy_error());
         aggregate::ProfileRequest rq;
         rq.node = *node;
         rq.seconds = ctx.cfg.incident_profile_seconds;
         auto profile = svc->profiler.run(*lease, rq);
         if (!profile) return std::unexpected(profile.error());
         if (auto r = write_file_atomic(dir + "/profile.pstat", render::make_pstats_profile()->render(*profile)); !r)
           return r;
         return write_file_atomic(dir + "/profile.html", render::make_flamegraph_profile()->render(*profile));
       }});
}

void add_profile_routes(AgentContext& ctx) {
  auto svc = std::make_shared<ProfileService>();
  service() = svc;

  ctx.router.add("GET", protocol::routes::profile,
                 ctx.with_node([&ctx, svc](const target::NodeId& node, const Request& req, Reply reply) {
                   std::string format = req.query.count("format") ? req.query.at("format") : "pstats";
                   std::shared_ptr<render::ProfileRenderer> renderer = render::profile_renderer(format);
                   if (!renderer)
                     return reply(Response::error(400, "bad_request", "unknown format \"" + format +
                                                                          "\"; use one of: " + joined_formats()));
                   aggregate::ProfileRequest rq;
                   rq.node = node;
                   if (auto r = read_profile_params(req.query, rq, node.pid); !r) return reply(Response::error(r.error()));
                   auto lease = svc->profiler.try_acquire();
                   if (!lease) return reply(Response::error(aggregate::CpuProfiler::busy_error()));
                   auto held = std::make_shared<aggregate::CpuProfiler::Lease>(std::move(*lease));
                   svc->spawn([svc_raw = svc.get(), held, rq, renderer, reply = std::move(reply)]() mutable {
                     auto profile = svc_raw->profiler.run(*held, rq);
                     held.reset();  // free before answering: the client may ask again at once
                     if (!profile) {
                       spdlog::warn("CPU profile of pid {} failed: {}", rq.node.pid, profile.error().message);
                       return reply(Response::error(profile.error()));
                     }
                     auto r = Response::text(200, renderer->render(*profile), renderer->content_type());
                     r.headers.emplace_back("Content-Disposition",
                                            "attachment; filename=\"" + exe_base(*profile) + "-" +
                                                protocol::compact_utc(profile->info.start_time) +
                                                renderer->file_extension() + "\"");
                     add_run_headers(r, *profile);
                     reply(std::move(r));
                   });
                 }));

  ctx.router.add("POST", protocol::routes::profiles,
                 ctx.with_node([&ctx, svc](const target::NodeId& node, const Request& req, Reply reply) {
                   auto params = post_params(req);
                   if (!params) return reply(Response::error(params.error()));
                   std::string id = params->count("id") ? params->at("id") : "";
                   if (!valid_profile_name(id))
                     return reply(Response::error(400, "bad_request",
                                                  "id must be 1 to 64 of [A-Za-z0-9._-] (it names the files)"));
                   aggregate::ProfileRequest rq;
                   rq.node = node;
                   rq.seconds = 60;
                   if (auto r = read_profile_params(*params, rq, node.pid); !r) return reply(Response::error(r.error()));
                   auto lease = svc->profiler.try_acquire();
                   if (!lease) return reply(Response::error(aggregate::CpuProfiler::busy_error()));
                   std::string stem = id + "-" + protocol::compact_utc(protocol::now_epoch());
                   std::string dir = ctx.cfg.logs;
                   rapidjson::StringBuffer buf;
                   rapidjson::Writer<rapidjson::StringBuffer> w(buf);
                   w.StartObject();
                   w.Key("id");
                   w.String(id.c_str());
                   w.Key("seconds");
                   w.Double(rq.seconds);
                   w.Key("hz");
                   w.Int(rq.hz);
                   w.Key("dir");
                   w.String(dir.c_str());
                   w.Key("files");
                   w.StartArray();
                   w.String((stem + ".pstat").c_str());
                   w.String((stem + ".calltree").c_str());
                   w.EndArray();
                   w.EndObject();
                   auto held = std::make_shared<aggregate::CpuProfiler::Lease>(std::move(*lease));
                   svc->spawn([svc_raw = svc.get(), held, rq, dir, stem]() mutable {
                     auto profile = svc_raw->profiler.run(*held, rq);
                     held.reset();
                     if (!profile) {
                       spdlog::warn("background CPU profile {} failed: {}", stem, profile.error().message);
                       return;
                     }
                     for (auto [fmt, ext] : {std::pair{"pstats", ".pstat"}, std::pair{"calltree", ".calltree"}}) {
                       auto r = write_file_atomic(dir + "/" + stem + ext, render::profile_renderer(fmt)->render(*profile));
                       if (!r) spdlog::warn("background CPU profile {}: {}", stem, r.error().message);
                     }
                     prune_profile_files(dir);
                     spdlog::info("wrote {}/{}.pstat and .calltree ({} samples{})", dir, stem, profile->info.samples,
                                  profile->info.partial ? ", partial: the node exited" : "");
                   });
                   reply(Response::json(202, std::string(buf.GetString(), buf.GetSize()) + "\n"));
                 }));

  ctx.router.add("GET", protocol::routes::profiles,
                 [&ctx](const Request&, Reply reply) { reply(Response::json(200, list_json(ctx.cfg.logs))); });

  const std::string prefix = protocol::routes::profiles;
  ctx.router.add_prefix("GET", prefix, [&ctx, prefix](const Request& req, Reply reply) {
    std::string file = req.path.substr(prefix.size() + 1);
    auto path = profile_file_path(ctx.cfg.logs, file);
    if (!path) return reply(Response::error(path.error()));
    boost::asio::post(ctx.workers, [path = *path, file, reply = std::move(reply)] {
      std::ifstream in(path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (!in) return reply(Response::error(500, "io", "cannot read " + path));
      auto r = Response::text(200, ss.str(), "application/octet-stream");
      r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + file + "\"");
      reply(std::move(r));
    });
  });
}

}  // namespace sonde::daemon
