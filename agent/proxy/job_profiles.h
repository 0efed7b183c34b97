// profiler=true (the seed's pump-run profile): the request goes to the node as
// usual, and the node is profiled from that moment for `seconds`, or until
// the status URL says the job no longer runs, into the logs folder as
// <id>-<start time>.pstat and .calltree (the names of POST /api/profiles'
// files, listed and served by GET /api/profiles). Each job waits on a thread
// of its own; at most kMaxJobs at once, so a client cannot pile them up.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "proxy/call_sampler.h"
#include "target/node.h"

namespace sonde::proxy {

struct JobOptions {
  std::string logs;
  double seconds = 60;
  std::string status_url;      // "" : no status checks; "{id}" is replaced by the job id
  std::string running_pattern; // the status answer says the job still runs while this matches
};

class JobProfiles {
 public:
  static constexpr size_t kMaxJobs = 4;

  JobProfiles(JobOptions options, CallSampler& sampler) : opt_(std::move(options)), sampler_(sampler) {}
  ~JobProfiles();  // ends every running job early (its files are still written) and joins

  // Starts profiling `node` for job `id`; the files' stem ("<id>-<start>").
  // conflict when kMaxJobs run already.
  Result<std::string> start(const std::string& id, const target::NodeId& node);
  size_t running() const;

 private:
  void run(const std::string& id, const std::string& stem, const CallSampler::WindowPtr& window);
  bool job_done(const std::string& id) const;

  const JobOptions opt_;
  CallSampler& sampler_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  size_t running_ = 0;
  struct Job {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Job> jobs_;  // ended ones are joined by the next start()
};

}  // namespace sonde::proxy
