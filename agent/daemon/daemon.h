// The agent daemon: wires the node tracker, the router and its routes, the
// server on both transports, the worker pool for slow work, signals and
// systemd. main.cpp and `sonde demo` run it; it owns nothing else.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "config/agent_config.h"
#include "aggregate/stack_dumper.h"
#include "daemon/agent_context.h"
#include "daemon/facts_cache.h"
#include "daemon/sigusr1_dumper.h"
#include "daemon/systemd_notify.h"
#include "protocol/status_doc.h"
#include "proxy/proxy_server.h"
#include "serve/auth/authorizer.h"
#include "serve/router.h"
#include "serve/server.h"
#include "target/node_tracker.h"

namespace sonde::daemon {

class Daemon {
 public:
  explicit Daemon(config::AgentConfig cfg);
  ~Daemon();

  // Sets everything up; errors are the caller's to print (exit 2).
  Result<void> start();
  // Runs until SIGTERM/SIGINT or stop(); returns the exit code.
  int run();
  // Thread-safe request to stop gracefully.
  void stop();

  // Called once serving, e.g. to print where (demo).
  std::function<void()> on_ready;
  int tcp_port() const { return server_ ? server_->tcp_port() : 0; }
  const config::AgentConfig& config() const { return cfg_; }

 private:
  void write_stacktrace_on_signal();
  Result<void> setup_jobs();
  Result<void> setup_auth();
  Result<void> setup_proxy();
  void shutdown();

  // First: SIGUSR1 is blocked before any of the agent's threads exist.
  BlockSigusr1 block_sigusr1_;
  config::AgentConfig cfg_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::thread_pool workers_{2};
  static constexpr int io_threads_ = 2;  // /api/status stays quick while another connection is served
  std::unique_ptr<target::NodeTracker> tracker_;
  serve::Router router_;
  std::unique_ptr<serve::Server> server_;
  SystemdNotifier notifier_;
  aggregate::StackDumper dumper_;
  std::unique_ptr<Sigusr1Dumper> sigusr1_;
  std::unique_ptr<AgentContext> ctx_;
  // Periodic jobs (health checks), incident bundles, safe mode.
  schedule::CaptureGate capture_gate_;
  schedule::CaptureQueue captures_{capture_gate_, workers_};
  std::unique_ptr<schedule::Scheduler> scheduler_;
  std::unique_ptr<incident::Incidents> incidents_;
  std::unique_ptr<health::HealthChecker> health_;
  std::shared_ptr<serve::auth::Authorizer> auth_;
  // --proxy: the API profiler proxy in front of the node (null without it).
  std::unique_ptr<proxy::ProxyServer> proxy_;
  protocol::AgentInfo info_;
  // /api/status and /metrics figures are at most this old.
  FactsCache facts_{std::chrono::milliseconds(100)};
  std::atomic<bool> shutting_down_{false};
};

}  // namespace sonde::daemon
