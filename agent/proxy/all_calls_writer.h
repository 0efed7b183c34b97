// --enable-api-profiler: every proxied call's profile (a fraction of them,
// `rate`) as <logs>/api_profiler/<time>-<method>-<route>.pstat and .calltree.
// Unlike the seed's, it cannot fill the disk: past `keep` files or
// `max_bytes` in all, the oldest go (the names sort by time). Files are
// rendered and written on the proxy's worker threads, never on an I/O thread;
// when the disk falls behind, calls are skipped (counted), not queued without bound.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "aggregate/profile.h"
#include "proxy/call_names.h"

namespace sonde::proxy {

class AllCallsWriter {
 public:
  AllCallsWriter(std::string dir, double rate, uint64_t keep, uint64_t max_bytes);

  // Whether this call is one of the `rate` profiled (1: every call); a taken
  // call ends in write() or release().
  bool take_this_call();
  void release();
  // Renders and writes the two files, on the caller's thread (a worker).
  void write(aggregate::Profile profile, const CallRecord& call);
  uint64_t written() const;
  uint64_t skipped() const;
  const std::string& dir() const { return dir_; }

 private:
  void write_now(aggregate::Profile& profile, const CallRecord& call);
  void prune_locked();

  const std::string dir_;
  const double rate_;
  const uint64_t keep_, max_bytes_;
  mutable std::mutex mu_;
  double credit_ = 0;
  size_t pending_ = 0;
  uint64_t written_ = 0, skipped_ = 0;
  struct File {
    std::string name;
    uint64_t size = 0;
  };
  std::deque<File> files_;  // oldest first
  uint64_t bytes_ = 0;
};

}  // namespace sonde::proxy
