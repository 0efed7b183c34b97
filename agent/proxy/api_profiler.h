// The profiling side of the proxy (issue 8): what a request asks for
// (the profile header, profiler=true, or nothing), who may ask (the admin
// role when auth is on), and the pieces that do it: the shared CallSampler,
// the all-calls writer and the job profiles. The session only asks this
// class; the plain proxy works without it.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "proxy/all_calls_writer.h"
#include "proxy/call_names.h"
#include "proxy/call_sampler.h"
#include "proxy/job_profiles.h"
#include "proxy/proxy_options.h"
#include "proxy/serving_thread.h"
#include "serve/http_types.h"
#include "target/node.h"

namespace sonde::proxy {

// A rendered per-call profile, answered as an attachment.
struct CallProfileFile {
  std::string name;          // "<time>-<method>-<route>.pstat"
  std::string content_type;
  std::string data;
  uint64_t samples = 0;
  std::string sampler;
  pid_t thread = 0;          // the node's thread that served the call (0: not known, the whole node)
};

class ApiProfiler {
 public:
  using NodeSource = std::function<std::optional<target::NodeId>()>;
  // nullopt: allowed; else the answer (401/403) to give instead.
  using AdminCheck = std::function<std::optional<serve::Response>(const serve::Request&)>;

  ApiProfiler(ProxyOptions options, NodeSource node, AdminCheck admin);
  // The sampler first (its callbacks post to the pool), then the pool's jobs finish.
  ~ApiProfiler() { sampler_.stop(); }

  const ProxyOptions& options() const { return opt_; }
  // The proxy's own two threads for blocking work (loading the probe, closing
  // windows, rendering), apart from the agent's workers that stack dumps need.
  boost::asio::thread_pool& workers() { return pool_; }

  // The request's headers (lower-cased names) as the auth check reads them.
  std::optional<serve::Response> refuse_unless_admin(const std::map<std::string, std::string>& headers) const;
  // The node, or the 503 to answer.
  Result<target::NodeId> node() const;
  // A window for this call; may load the probe (see CallSampler::open): workers only.
  // A call's window is per thread: closing it keeps the serving thread's samples when that thread is known.
  Result<CallSampler::WindowPtr> open(const target::NodeId& node) { return sampler_.open(node, true); }
  CallSampler::WindowPtr open_if_warm(const target::NodeId& node) { return sampler_.open_if_warm(node, true); }
  // The call's answer is in: its window ends now (the files are made later).
  void end(const CallSampler::WindowPtr& w) { sampler_.end(w); }

  // Header mode: the call's profile in `format` (blocking: workers only).
  // `link`: our connection to the node, to find the thread that served the call.
  CallProfileFile finish_call(const CallSampler::WindowPtr& w, const CallRecord& call, const std::string& format,
                              pid_t node_pid, const TcpLink& link);
  // A window whose call failed: closed, its samples dropped (does not block).
  void discard(const CallSampler::WindowPtr& w) { sampler_.close_async(w, 0, [](aggregate::Profile) {}); }
  // All-calls mode.
  bool all_calls() const { return writer_ != nullptr; }
  bool take_this_call() { return writer_ && writer_->take_this_call(); }
  // A taken call that will not be recorded (its window could not open).
  void skip_call() { writer_->release(); }
  // Ends the window; the files are written on the pool once its samples are in (the client is not kept waiting).
  void record_call(const CallSampler::WindowPtr& w, const CallRecord& call, pid_t node_pid, const TcpLink& link);
  // profiler=true: the job's file stem, or why not.
  Result<std::string> start_job(const std::string& path, const target::NodeId& node);

 private:
  const ProxyOptions opt_;
  NodeSource node_;
  AdminCheck admin_;
  CallSampler sampler_;
  std::unique_ptr<AllCallsWriter> writer_;
  JobProfiles jobs_;
  boost::asio::thread_pool pool_{2};  // last: joined first, while what its jobs use still exists
};

// True when a query or url-encoded form has profiler=true (or 1, yes).
bool wants_job_profile(const std::string& params);

}  // namespace sonde::proxy
