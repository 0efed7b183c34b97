#include "daemon/daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <csignal>
#include <thread>
#include <vector>

#include "daemon/metrics.h"
#include "host/virtual_memory.h"
#include "log/logging.h"
#include "log/rotated_file.h"
#include "render/stack_renderer.h"
#include "protocol/iso_time.h"
#include "protocol/routes.h"
#include "sonde_version.h"
#include "target/node_facts.h"

namespace sonde::daemon {

using serve::Reply;
using serve::Request;
using serve::Response;

Daemon::Daemon(config::AgentConfig cfg) : cfg_(std::move(cfg)), signals_(io_), notifier_(io_) {
  info_.agent_id = protocol::make_agent_id();
  info_.agent_version = SONDE_VERSION;
  info_.agent_start_time = protocol::now_epoch();
}

Daemon::~Daemon() {
  workers_.join();
}

serve::Handler Daemon::with_node(std::function<void(const target::NodeId&, const Request&, Reply)> h) {
  return [this, h = std::move(h)](const Request& req, Reply reply) {
    auto node = tracker_->current();
    if (!node) {
      reply(Response::error(503, "node_unavailable",
                            "no node attached (" + target::TargetSpec{cfg_.pid, cfg_.pid_file, cfg_.match}.describe() +
                                "); see /api/health and the agent log"));
      return;
    }
    h(*node, req, std::move(reply));
  };
}

void Daemon::add_routes() {
  namespace routes = protocol::routes;
  router_.add("GET", routes::health, [this](const Request&, Reply reply) {
    bool attached = tracker_->current().has_value();
    reply(Response::json(200, std::string("{\"status\": \"ok\", \"node_attached\": ") +
                                  (attached ? "true" : "false") + "}\n"));
  });
  // Status reads a few small /proc files (cached briefly): quick enough for the I/O thread.
  router_.add("GET", routes::status, [this](const Request&, Reply reply) {
    auto facts = facts_.get(tracker_->current());
    reply(Response::json(200, protocol::status_json(info_, facts.node, facts.host, protocol::now_epoch())));
  });
  router_.add("GET", routes::metrics, [this](const Request&, Reply reply) {
    auto facts = facts_.get(tracker_->current());
    reply(Response::text(200,
                         metrics_text(facts.node, protocol::now_epoch() - info_.agent_start_time, server_->stats()),
                         "text/plain; version=0.0.4; charset=utf-8"));
  });
}

void Daemon::add_stack_routes() {
  router_.add("GET", protocol::routes::stacktrace,
              with_node([this](const target::NodeId& node, const Request& req, Reply reply) {
                std::string format = req.query.count("format") ? req.query.at("format") : "html";
                std::shared_ptr<render::StackRenderer> renderer = render::stack_renderer(format);
                if (!renderer) {
                  reply(Response::error(400, "bad_request", "unknown format \"" + format + "\"; use html, json or text"));
                  return;
                }
                auto consistent = protocol::param_bool(req.query, "consistent");
                if (!consistent) {
                  reply(Response::error(consistent.error()));
                  return;
                }
                aggregate::DumpOptions opts;
                opts.consistent = consistent->value_or(false);
                // A capture takes milliseconds to tens of them: never on the I/O thread.
                boost::asio::post(workers_, [this, node, opts, renderer, reply = std::move(reply)] {
                  if (!target::still_alive(node)) {
                    reply(Response::error(503, "node_unavailable", "the node exited"));
                    return;
                  }
                  auto dump = dumper_.dump(node.pid, opts);
                  if (!dump) {
                    spdlog::warn("stack dump of pid {} failed: {}", node.pid, dump.error().message);
                    reply(Response::error(dump.error()));
                    return;
                  }
                  reply(Response::text(200, renderer->render(*dump), renderer->content_type()));
                });
              }));
}

void Daemon::write_stacktrace_file() {
  auto node = tracker_->current();
  if (!node) {
    spdlog::warn("SIGUSR1: no node attached, no stacktrace.html written");
    return;
  }
  auto dump = dumper_.dump(node->pid, {});
  if (!dump) {
    spdlog::error("SIGUSR1: stack dump of pid {} failed: {}", node->pid, dump.error().message);
    return;
  }
  std::string path = cfg_.logs + "/stacktrace.html";
  if (auto r = log::write_rotated(path, render::make_html_stacks()->render(*dump), static_cast<int>(cfg_.stacktrace_keep)); !r) {
    spdlog::error("SIGUSR1: {}", r.error().message);
    return;
  }
  spdlog::info("SIGUSR1: wrote {} ({} threads, {:.1f} ms)", path, dump->threads.size(), dump->wall_ms);
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

  add_routes();
  add_stack_routes();
  sigusr1_ = std::make_unique<Sigusr1Dumper>([this] { write_stacktrace_file(); });
  serve::Limits limits;
  limits.max_connections = static_cast<std::size_t>(cfg_.max_connections);
  limits.read_timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg_.read_timeout * 1000));
  server_ = std::make_unique<serve::Server>(io_, router_, limits);
  if (cfg_.http != "off" && !cfg_.http.empty()) {
    if (auto r = server_->listen_tcp(cfg_.http); !r) return r;
  }
  if (!cfg_.socket.empty() && cfg_.socket != "off") {
    if (auto r = server_->listen_unix(cfg_.socket, static_cast<unsigned>(cfg_.socket_mode)); !r) return r;
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
  if (sigusr1_) sigusr1_->stop();
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
