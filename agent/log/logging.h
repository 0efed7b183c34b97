// The agent's logs (spdlog): sonde.log for what the agent does, access.log
// for one line per request, each size-rotated with a kept count, and stderr
// too when a person runs the agent in a terminal.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace sonde::log {

struct LogOptions {
  std::string dir;                 // "" logs to stderr only
  int64_t max_bytes = 10 * 1024 * 1024;
  int64_t keep = 5;
  bool to_stderr = false;          // forced on when stderr is a terminal
};

// Sets the default logger ("sonde") and the "access" logger. A logs folder
// that cannot be written is reported, and logging goes on to stderr.
Result<void> setup(const LogOptions& opts);
// A logger that writes only to stderr, for the client commands.
void setup_stderr_only();
// Adds a named size-rotated file logger in the logs folder (e.g. node_health.log).
void add_file_logger(const std::string& name, const std::string& file);
void flush_all();

}  // namespace sonde::log
