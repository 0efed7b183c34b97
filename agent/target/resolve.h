// Finding the node: by pid, by pid file, or by a regex over every process's
// command line. A pid file older than the process it names is not trusted:
// the pid was recycled by an unrelated process after the node died.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"
#include "target/node.h"

namespace sonde::target {

struct TargetSpec {
  pid_t pid = 0;
  std::string pid_file;
  std::string match;

  // Whether a lost node is looked for again (a fixed pid never comes back).
  bool can_reresolve() const { return pid == 0; }
  std::string describe() const;
};

Result<NodeId> resolve(const TargetSpec& spec);

// The pieces, for tests.
Result<pid_t> read_pid_file(const std::string& path);
Result<NodeId> resolve_pid_file(const std::string& path);
Result<NodeId> resolve_match(const std::string& regex, pid_t exclude_self);

}  // namespace sonde::target
