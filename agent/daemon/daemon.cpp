#include "daemon/daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <csignal>
#include <thread>
#include <vector>

#include "log/logging.h"
#include "protocol/iso_time.h"
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

Result<void> Daemon::start() {
  if (auto v = config::validate(cfg_); !v) return v;
  log::LogOptions lo{cfg_.logs, cfg_.log_max_bytes, cfg_.log_keep, false};
  if (auto r = log::setup(lo); !r) spdlog::error("{}; logging to stderr only", r.error().message);

  target::TargetSpec spec{cfg_.pid, cfg_.pid_file, cfg_.match};
  tracker_ = std::make_unique<target::NodeTracker>(io_, spec);
  auto first = tracker_->start();
  // A fixed pid that is not there now never will be: that is a usage error.
  if (!first && !spec.can_reresolve()) return std::unexpected(first.error());

  serve::Limits limits;
  limits.max_connections = static_cast<std::size_t>(cfg_.max_connections);
  limits.read_timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg_.read_timeout * 1000));
  server_ = std::make_unique<serve::Server>(io_, router_, limits);
  ctx_ = std::make_unique<AgentContext>(
      AgentContext{cfg_, info_, io_, workers_, router_, *server_, *tracker_, facts_, dumper_});
  // Each feature's routes come from its own file (routes_*.cpp).
  add_status_routes(*ctx_);
  add_stack_routes(*ctx_);
  add_memory_routes(*ctx_);
  sigusr1_ = std::make_unique<Sigusr1Dumper>([this] { write_stacktrace_on_signal(); });
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
