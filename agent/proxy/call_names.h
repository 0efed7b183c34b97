// Names of the proxy's profile files and attachments, and what a profile
// says about the call it is of.
#pragma once

#include <optional>
#include <string>

#include "aggregate/profile.h"
#include "common/result.h"

namespace sonde::proxy {

// One proxied call as its profile records it.
struct CallRecord {
  std::string method, target, path;
  double start_epoch = 0;
  int status = 0;          // the node's answer (0: none, the call failed)
  double duration_ms = 0;  // request read -> the node's whole answer read
};

// "/api/pipes/foo" -> "api_pipes_foo": [A-Za-z0-9.-] kept, the rest '_', at
// most 80 characters; "root" for "/".
std::string route_slug(const std::string& path);
// "20261128T143000.123Z": sortable, millisecond resolution (calls are quick).
std::string call_time(double epoch);
// "<time>-<method>-<route>", the stem of the all-calls files and of the header's attachment.
std::string call_stem(const CallRecord& call);
// The job id: the first group of `pattern` matched against the whole path
// (nullopt when it does not match, or the group is not a usable file name).
std::optional<std::string> job_id(const std::string& path, const std::string& pattern);
// The call's method and target, status and duration into the profile's notes.
void annotate(aggregate::Profile& profile, const CallRecord& call);

}  // namespace sonde::proxy
