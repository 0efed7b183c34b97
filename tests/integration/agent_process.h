// A real `sonde agent` started by a test: its own temp folder for the socket
// and logs, a free TCP port, and helpers to ask it things.
#pragma once

#include <string>
#include <vector>

#include "child.h"
#include "client/http_client.h"

namespace sonde::test {

struct AgentProcess {
  TempDir dir;
  int port = 0;
  std::string socket;
  std::string logs;
  Child child;

  // Starts the agent with the given target flags (e.g. {"--pid", "42"}) plus
  // socket, http and logs; waits until it answers /api/health.
  bool start(const std::vector<std::string>& target_flags, const std::vector<std::string>& extra = {});
  client::Endpoint tcp() const;
  client::Endpoint unix() const;
  // GET over TCP; status 0 when the agent cannot be reached.
  client::HttpResponse get(const std::string& target) const;
};

// Runs `sonde ARGS...` to completion; returns the exit code and fills out/err.
int run_sonde(const std::vector<std::string>& args, std::string* out, std::string* err, int timeout_s = 60);

}  // namespace sonde::test
