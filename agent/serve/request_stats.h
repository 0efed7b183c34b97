// Requests served, by route and status, for /metrics. Written by the I/O
// thread, read by the metrics handler: a mutex is plenty at this rate.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace sonde::serve {

class RequestStats {
 public:
  void count(const std::string& route, int status);
  std::map<std::pair<std::string, int>, uint64_t> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> counts_;
};

}  // namespace sonde::serve
