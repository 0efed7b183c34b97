#include "daemon/daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <csignal>
#include <thread>
#include <vector>

#include "log/logging.h"
#include "protocol/iso_time.h"
#include "schedule/safe_mode.h"
#include "sonde_version.h"

namespace sonde::daemon {

Daemon::Daemon(config::AgentConfig cfg) : cfg_(std::move(cfg)), signals_(io_), notifier_(io_) {
  info_.agent_id = protocol::make_agent_id();
  info_.agent_version = SONDE_VERSION;
  info_.agent_start_time = protocol::now_epoch();
}

Daemon::~Daemon() {
  workers_.join();
}

void Daemon::write_stacktrace_on_signal() {
  auto r = write_stacktrace_file(*ctx_);
  if (r) spdlog::info("SIGUSR1: wrote {}", *r);
  else spdlog::error("SIGUSR1: {}", r.error().message);
}

Result<void> Daemon::setup_auth() {
  std::optional<serve::auth::JwtVerifier> jwt;
  if (!cfg_.jwt_key.empty()) {
    auto v = serve::auth::JwtVerifier::load_file(cfg_.jwt_key, cfg_.jwt_role_claim);
    if (!v) return std::unexpected(v.error());
    jwt = std::move(*v);
    spdlog::info("HTTP needs {} bearer tokens ({} routes need the {} role)", jwt->algorithm(), "admin",
                 serve::auth::admin_role);
  } else if (cfg_.http != "off") {
    // Without auth, only this machine may ask over TCP.
    std::string host = cfg_.http.substr(0, cfg_.http.rfind(':'));
    bool loopback = host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]" || host == "::1";
    if (!loopback && !cfg_.insecure_http)
      return fail(ErrorCode::bad_request, "refusing --http " + cfg_.http +
                                              " without --jwt-key: anyone on the network could freeze the node; "
                                              "add --jwt-key FILE, bind 127.0.0.1, or force with --insecure-http");
    if (loopback) spdlog::info("no --jwt-key: HTTP is served on loopback only, without tokens");
    else spdlog::warn("no --jwt-key and --insecure-http: anyone who reaches {} may use the agent", cfg_.http);
  }
  auto allow = serve::auth::PeerAllowList::parse(cfg_.socket_allow);
  if (!allow) return std::unexpected(allow.error());
  auth_ = std::make_shared<serve::auth::Authorizer>(std::move(jwt), cfg_.public_status, std::move(*allow));
  router_.set_guard([auth = auth_](const serve::Request& req, serve::Access access) { return auth->check(req, access); });
  return {};
}

// The scheduler and its jobs, the health checker, incident bundles and safe
// mode (startup_options.json, the config's task_manager, POST /api/scheduler).
Result<void> Daemon::setup_jobs() {
  scheduler_ = std::make_unique<schedule::Scheduler>(io_, capture_gate_);
  incidents_ = std::make_unique<incident::Incidents>(
      incident::IncidentOptions{cfg_.logs + "/incidents", cfg_.incident_cooldown,
                                static_cast<uint64_t>(cfg_.incident_keep), static_cast<uint64_t>(cfg_.incident_max_bytes)},
      workers_, capture_gate_);
  ctx_->scheduler = scheduler_.get();
  ctx_->incidents = incidents_.get();
  if (!cfg_.health_url.empty()) {
    auto target = health::parse_health_url(cfg_.health_url);
    if (!target) return std::unexpected(target.error());
    health::HealthOptions ho{*target, std::chrono::milliseconds(static_cast<int64_t>(cfg_.health_timeout * 1000)),
                             cfg_.health_failures};
    health_ = std::make_unique<health::HealthChecker>(io_, ho, [this] { return tracker_->current().has_value(); });
    health_->on_unhealthy = [this](const health::CheckResult& r) { incidents_->trigger(r.result_text()); };
    ctx_->health = health_.get();
    scheduler_->add({"health", std::chrono::milliseconds(static_cast<int64_t>(cfg_.health_interval * 1000)), false,
                     [h = health_.get()](schedule::JobDone done) { h->check(std::move(done)); }});
  }
  add_incident_routes(*ctx_);
  add_profile_bundle_part(*ctx_);
  add_scheduler_routes(*ctx_);
  auto safe = schedule::decide_safe_mode(cfg_.disable_scheduler, cfg_.data);
  if (safe.malformed) spdlog::error("{}", safe.why);
  scheduler_->start(safe.disabled, safe.why);
  return {};
}

// --proxy: the node's API through the agent, with the API profiler (agent/proxy/).
Result<void> Daemon::setup_proxy() {
  auto spec = proxy::parse_proxy_spec(cfg_.proxy);
  if (!spec) return std::unexpected(spec.error());
  proxy::ProxyOptions o;
  o.spec = *spec;
  o.logs = cfg_.logs.empty() ? "." : cfg_.logs;
  o.profile_header = cfg_.api_profiler_header;
  o.hz = static_cast<int>(cfg_.api_profiler_hz);
  o.all_calls = cfg_.enable_api_profiler;
  o.all_calls_rate = cfg_.api_profiler_rate;
  o.all_calls_keep = static_cast<uint64_t>(cfg_.api_profiler_keep);
  o.all_calls_max_bytes = static_cast<uint64_t>(cfg_.api_profiler_max_bytes);
  o.job_seconds = cfg_.job_profile_seconds;
  o.job_id_pattern = cfg_.job_id_pattern;
  o.job_status_url = cfg_.job_status_url;
  o.job_running_pattern = cfg_.job_running_pattern;
  o.upstream_timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg_.proxy_timeout * 1000));
  // The profiling features need the admin role when auth is on; plain calls need nothing.
  auto profiler = std::make_unique<proxy::ApiProfiler>(
      o, [this] { return tracker_->current(); },
      [auth = auth_](const serve::Request& req) { return auth->check(req, serve::Access::admin); });
  proxy_ = std::make_unique<proxy::ProxyServer>(io_, o, std::move(profiler));
  return proxy_->start();
}

Result<void> Daemon::start() {
  if (auto v = config::validate(cfg_); !v) return v;
  log::LogOptions lo{cfg_.logs, cfg_.log_max_bytes, cfg_.log_keep, false};
  if (auto r = log::setup(lo); !r) spdlog::error("{}; logging to stderr only", r.error().message);

  target::TargetSpec spec{cfg_.pid, cfg_.pid_file, cfg_.match};
  tracker_ = std::make_unique<target::NodeTracker>(io_, spec);
  auto first = tracker_->start();
  // A fixed pid that is not there now never will be: that is a usage error.
  if (!first && !spec.can_reresolve()) return std::unexpected(first.error());

  if (auto r = setup_auth(); !r) return r;
  serve::Limits limits;
  limits.max_connections = static_cast<std::size_t>(cfg_.max_connections);
  limits.read_timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg_.read_timeout * 1000));
  limits.rate_per_second = cfg_.rate_limit;
  server_ = std::make_unique<serve::Server>(io_, router_, limits);
  ctx_ = std::make_unique<AgentContext>(
      AgentContext{cfg_, info_, io_, workers_, router_, *server_, *tracker_, facts_, dumper_});
  ctx_->captures = &captures_;
  // Each feature's routes come from its own file (routes_*.cpp).
  add_status_routes(*ctx_);
  add_stack_routes(*ctx_);
  add_memory_routes(*ctx_);
  add_profile_routes(*ctx_);
  if (auto r = setup_jobs(); !r) return r;
  if (!cfg_.proxy.empty()) {
    if (auto r = setup_proxy(); !r) return r;
  }
  sigusr1_ = std::make_unique<Sigusr1Dumper>([this] { write_stacktrace_on_signal(); });
  if (cfg_.http != "off" && !cfg_.http.empty()) {
    if (auto r = server_->listen_tcp(cfg_.http); !r) return r;
  }
  if (!cfg_.socket.empty() && cfg_.socket != "off") {
    if (auto r = server_->listen_unix(cfg_.socket, static_cast<unsigned>(cfg_.socket_mode), cfg_.socket_group); !r)
      return r;
  }

  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: finishing requests in flight and stopping", sig);
    shutdown();
  });
  // A client hanging up mid-write must not kill the agent.
  std::signal(SIGPIPE, SIG_IGN);

  std::string where;
  if (cfg_.http != "off") where += "http://" + cfg_.http.substr(0, cfg_.http.rfind(':')) + ":" + std::to_string(server_->tcp_port());
  if (!cfg_.socket.empty() && cfg_.socket != "off") where += (where.empty() ? "" : " and ") + std::string("unix:") + cfg_.socket;
  spdlog::info("sonde {} serving on {} (logs in {})", SONDE_VERSION, where, cfg_.logs.empty() ? "stderr" : cfg_.logs);
  notifier_.ready("serving on " + where);
  return {};
}

void Daemon::shutdown() {
  if (shutting_down_.exchange(true)) return;
  notifier_.stopping();
  boost::system::error_code ec;
  signals_.cancel(ec);
  tracker_->stop();
  server_->shutdown();
  if (proxy_) proxy_->shutdown();
  if (sigusr1_) sigusr1_->stop();
  if (scheduler_) scheduler_->stop();
  if (health_) health_->stop();
}

void Daemon::stop() {
  boost::asio::post(io_, [this] { shutdown(); });
}

int Daemon::run() {
  if (on_ready) boost::asio::post(io_, on_ready);
  std::vector<std::thread> extra;
  for (int i = 1; i < io_threads_; ++i) extra.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : extra) t.join();
  workers_.join();
  spdlog::info("stopped");
  log::flush_all();
  return 0;
}

}  // namespace sonde::daemon
