// The agent's settings: one table of keys shared by the command line and the
// JSON config file, so a key means the same in both and flags win over the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::config {

struct AgentConfig {
  // Target: exactly one of these.
  pid_t pid = 0;
  std::string pid_file;
  std::string match;

  std::string socket;                   // unix socket path; "" or "off": none
  std::string http = "127.0.0.1:9043";  // HOST:PORT or "off"
  std::string logs;                     // logs folder
  std::string data;                     // data folder (startup options)
  std::string config_file;

  int64_t log_max_bytes = 10 * 1024 * 1024;  // each log file before rotation
  int64_t log_keep = 5;                      // rotated files kept per log
  int64_t max_connections = 256;
  double read_timeout = 30.0;                // seconds for a whole request
  double rate_limit = 100.0;                 // requests/s per peer (burst 2x); 0: no limit
  int64_t stacktrace_keep = 10;              // rotated stacktrace.html files kept
  int64_t socket_mode = 0660;                // written as octal in JSON ("0660") or decimal

  // Who may ask (serve/auth): JWTs on HTTP, peer credentials on the socket.
  std::string jwt_key;                       // HS256 secret file, or RS256/ES256 public key (PEM)
  std::string jwt_role_claim = "roles";      // claim holding the roles (a string array)
  bool public_status = false;                // status and metrics without a token
  std::string socket_allow;                  // "UID,@GROUP,..." allowed on the socket (root always)
  std::string socket_group;                  // group owning the socket file
  bool insecure_http = false;                // allow a non-loopback --http without --jwt-key
  // Injected calls (target/remote_call.h): run a function of the node on one
  // of its threads (jemalloc's mallctl, glibc's mallinfo2). Off by default.
  bool allow_inject = false;

  // The node's health check (health/) and incident bundles (incident/).
  std::string health_url;                    // http://host:port/path or unix:/p.sock:/path; "": no checks
  double health_interval = 30.0;             // seconds between checks
  double health_timeout = 5.0;               // seconds a check may take
  int64_t health_failures = 1;               // failed checks in a row before the node is unhealthy
  double incident_cooldown = 300.0;          // seconds between incident bundles, at least
  int64_t incident_keep = 10;                // bundles kept
  int64_t incident_max_bytes = 200 * 1024 * 1024;  // bytes of bundles kept in all
  double incident_profile_seconds = 5.0;     // the CPU profile of a bundle (profile.pstat, profile.html)
  // The API profiler proxy (agent/proxy/, issue 8).
  std::string proxy;                         // LISTEN=UPSTREAM, each HOST:PORT or a unix socket path; "": none
  double proxy_timeout = 300.0;              // seconds the node may take to answer a proxied call
  std::string api_profiler_header = "SESAM-API-PROFILER";  // asks for one call's profile
  int64_t api_profiler_hz = 99;              // sampling frequency of the proxy's profiles
  bool enable_api_profiler = false;          // every call into <logs>/api_profiler/
  double api_profiler_rate = 1.0;            // fraction of the calls profiled in that mode
  int64_t api_profiler_keep = 1000;          // files kept in <logs>/api_profiler/
  int64_t api_profiler_max_bytes = 100 * 1024 * 1024;  // bytes kept there
  double job_profile_seconds = 60.0;         // profiler=true: how long the job is profiled
  std::string job_id_pattern = "^/api/pipes/([^/]+)/pump$";  // its first group names the files
  std::string job_status_url;                // polled each second ("{id}": the job id); "" : none
  std::string job_running_pattern = "\"is-running\"\\s*:\\s*true";  // the job runs while its answer matches
  // Safe mode from the config file: the seed's {"task_manager": {"disable_pump_scheduler": true}},
  // also in its metadata entity form ("_id", "type": "metadata"). Not a flag.
  bool disable_scheduler = false;
};

enum class Kind { integer, real, text, pid, flag };

// One key of the table: its name (the flag without "--"), help, and how to
// reach the field of an AgentConfig.
struct Key {
  std::string name;
  Kind kind;
  std::string help;
  std::function<void*(AgentConfig&)> field;
};

const std::vector<Key>& agent_keys();

// Reads a JSON config file and applies every key not in `set_by_flags`.
// Unknown keys, wrong types and unreadable files are errors with the key named.
Result<void> apply_config_file(const std::string& path, const std::vector<std::string>& set_by_flags,
                               AgentConfig& out);
// The same from JSON text (unit-testable).
Result<void> apply_config_json(const std::string& json, const std::string& origin,
                               const std::vector<std::string>& set_by_flags, AgentConfig& out);

// Checks the combination: exactly one target, a listener, sane numbers.
Result<void> validate(const AgentConfig& c);

// Defaults that depend on the environment (systemd directories, root or not).
std::string default_logs_dir();
std::string default_socket_path();

}  // namespace sonde::config
