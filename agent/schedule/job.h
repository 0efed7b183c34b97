// A periodic job of the agent: what it is called, how often it runs, whether
// it takes a capture of the node, and the work itself. Adding a job is one
// Scheduler::add() call with one of these.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/result.h"

namespace sonde::schedule {

// Called exactly once when a run ends, from any thread. An error is logged and
// the job simply runs again at its next tick.
using JobDone = std::function<void(Result<void>)>;

struct Job {
  std::string name;                       // "health", "profile", ...
  std::chrono::milliseconds interval{30000};
  bool takes_capture = false;             // skip the tick while another capture holds the gate
  // Starts one run; must not block the calling (I/O) thread: slow work goes to
  // the worker pool and calls `done` from there.
  std::function<void(JobDone done)> run;
};

}  // namespace sonde::schedule
