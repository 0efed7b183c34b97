// Where a client command gets its answer: from the node itself (--pid, one
// shot, no daemon) or from a running agent (--socket or --url).
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <string>

#include "client/http_client.h"
#include "common/result.h"

namespace sonde::cli {

struct ClientTarget {
  pid_t pid = 0;
  std::string socket;
  std::string url;

  void add_flags(CLI::App* sub);
  // Exactly one of the three; the message says which flags exist.
  Result<void> check() const;
  bool local() const { return pid > 0; }
  Result<client::Endpoint> endpoint() const;
};

// Asks the agent and prints the body to stdout; non-2xx answers print the
// agent's error message to stderr. Returns the exit code.
int fetch_and_print(const ClientTarget& t, const std::string& target, bool pretty_json);
// Reformats JSON with indentation (for --pretty); returns the input if it is not JSON.
std::string pretty_json(const std::string& json);
// Prints "sonde CMD: message" to stderr and returns the exit code for it.
int report_error(const char* cmd, const Error& e);

}  // namespace sonde::cli
