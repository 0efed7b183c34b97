#include "serve/request_stats.h"

namespace sonde::serve {

void RequestStats::count(const std::string& route, int status) {
  std::lock_guard lock(mu_);
  ++counts_[{route, status}];
}

std::map<std::pair<std::string, int>, uint64_t> RequestStats::snapshot() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace sonde::serve
