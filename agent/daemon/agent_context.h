// What the route files and jobs of the daemon may use of the running agent.
// Each feature registers its routes from a file of its own (routes_*.cpp)
// through this, so daemon.cpp stays wiring only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>

#include "aggregate/stack_dumper.h"
#include "config/agent_config.h"
#include "daemon/facts_cache.h"
#include "health/health_checker.h"
#include "incident/incidents.h"
#include "protocol/status_doc.h"
#include "schedule/capture_queue.h"
#include "schedule/scheduler.h"
#include "serve/router.h"
#include "serve/server.h"
#include "target/node_tracker.h"

namespace sonde::daemon {

using NodeHandler = std::function<void(const target::NodeId&, const serve::Request&, serve::Reply)>;

struct AgentContext {
  const config::AgentConfig& cfg;
  const protocol::AgentInfo& info;
  boost::asio::io_context& io;
  boost::asio::thread_pool& workers;  // slow work (captures) goes here, never on the I/O threads
  serve::Router& router;
  serve::Server& server;
  target::NodeTracker& tracker;
  FactsCache& facts;
  aggregate::StackDumper& dumper;
  // Periodic jobs, incident bundles, and the node's health checker (null
  // without --health-url); set by the daemon right after construction.
  schedule::Scheduler* scheduler = nullptr;
  incident::Incidents* incidents = nullptr;
  health::HealthChecker* health = nullptr;
  // Captures asked for over the API run one at a time; set by the daemon.
  schedule::CaptureQueue* captures = nullptr;

  // A node route: 503 while detached, else the handler with the node.
  serve::Handler with_node(NodeHandler h) const;
  // Queues a capture on the workers behind the one running; when the queue is
  // full, answers 409 busy through reply instead (the job is not run).
  void post_capture(const char* who, std::function<void()> job, const serve::Reply& reply) const;
};

// Route files.
void add_status_routes(AgentContext& ctx);
void add_stack_routes(AgentContext& ctx);
void add_memory_routes(AgentContext& ctx);     // heap and debugmallocstats
void add_profile_routes(AgentContext& ctx);    // CPU profiles
void add_profile_bundle_part(AgentContext& ctx);  // profile.pstat + profile.html (after add_incident_routes)
void add_incident_routes(AgentContext& ctx);   // also registers the core bundle parts
void add_scheduler_routes(AgentContext& ctx);

// stacktrace.html into the logs folder, rotating the earlier ones (SIGUSR1,
// and later the health checker). Returns the path written.
Result<std::string> write_stacktrace_file(AgentContext& ctx);

}  // namespace sonde::daemon
