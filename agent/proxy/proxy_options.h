// What the proxy does, from the agent's config (--proxy and the API profiler
// keys): built once by the daemon, read-only afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "proxy/proxy_endpoint.h"

namespace sonde::proxy {

struct ProxyOptions {
  ProxySpec spec;
  std::string logs;  // the agent's logs folder

  // Per-call profiles: the request header that asks for one (the seed's name).
  std::string profile_header = "SESAM-API-PROFILER";
  int hz = 99;  // sampling frequency of every proxied profile

  // --enable-api-profiler: every call (a fraction `all_calls_rate` of them)
  // into <logs>/api_profiler/, at most `all_calls_keep` files and `all_calls_max_bytes`.
  bool all_calls = false;
  double all_calls_rate = 1.0;
  uint64_t all_calls_keep = 1000;
  uint64_t all_calls_max_bytes = 100 * 1024 * 1024;

  // profiler=true: a job profile of `job_seconds`, named by the first group of
  // `job_id_pattern` matched against the path; it ends early when
  // `job_status_url` (if set, "{id}" replaced by the id) stops matching
  // `job_running_pattern`.
  double job_seconds = 60;
  std::string job_id_pattern = "^/api/pipes/([^/]+)/pump$";
  std::string job_status_url;
  std::string job_running_pattern = "\"is-running\"\\s*:\\s*true";

  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds upstream_timeout{300000};  // no byte from the node for this long: 504
  std::chrono::milliseconds idle_timeout{60000};       // a keep-alive client that says nothing
  size_t header_bytes = 64 * 1024;                     // larger request headers: 431
};

}  // namespace sonde::proxy
