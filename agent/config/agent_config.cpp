#include "config/agent_config.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

namespace sonde::config {

const std::vector<Key>& agent_keys() {
  static const std::vector<Key> keys = {
      {"pid", Kind::pid, "attach to this process id", [](AgentConfig& c) -> void* { return &c.pid; }},
      {"pid-file", Kind::text, "read the node's pid from this file (re-read when the node restarts)",
       [](AgentConfig& c) -> void* { return &c.pid_file; }},
      {"match", Kind::text, "attach to the one process whose command line matches this regex",
       [](AgentConfig& c) -> void* { return &c.match; }},
      {"socket", Kind::text, "serve the API on this unix socket path (\"off\": none)",
       [](AgentConfig& c) -> void* { return &c.socket; }},
      {"http", Kind::text, "serve the API on HOST:PORT (\"off\": none)",
       [](AgentConfig& c) -> void* { return &c.http; }},
      {"logs", Kind::text, "logs folder (agent log, access log, stack traces)",
       [](AgentConfig& c) -> void* { return &c.logs; }},
      {"data", Kind::text, "data folder (startup_options.json)", [](AgentConfig& c) -> void* { return &c.data; }},
      {"log-max-bytes", Kind::integer, "size at which a log file is rotated",
       [](AgentConfig& c) -> void* { return &c.log_max_bytes; }},
      {"log-keep", Kind::integer, "rotated files kept per log", [](AgentConfig& c) -> void* { return &c.log_keep; }},
      {"max-connections", Kind::integer, "connections served at once; more get 503",
       [](AgentConfig& c) -> void* { return &c.max_connections; }},
      {"read-timeout", Kind::real, "seconds a client has to send a whole request (408 after)",
       [](AgentConfig& c) -> void* { return &c.read_timeout; }},
      {"rate-limit", Kind::real, "requests per second per peer address or uid, bursts of twice that; more get 429 (0: off)",
       [](AgentConfig& c) -> void* { return &c.rate_limit; }},
      {"stacktrace-keep", Kind::integer, "rotated stacktrace.html files kept",
       [](AgentConfig& c) -> void* { return &c.stacktrace_keep; }},
      {"socket-mode", Kind::integer, "file mode of the unix socket (octal in a JSON string: \"0660\")",
       [](AgentConfig& c) -> void* { return &c.socket_mode; }},
      {"jwt-key", Kind::text, "require JWTs on HTTP: an HS256 secret file, or an RS256/ES256 public key (PEM)",
       [](AgentConfig& c) -> void* { return &c.jwt_key; }},
      {"jwt-role-claim", Kind::text, "the JWT claim that lists the roles (default roles)",
       [](AgentConfig& c) -> void* { return &c.jwt_role_claim; }},
      {"public-status", Kind::flag, "serve /api/status and /metrics without a token",
       [](AgentConfig& c) -> void* { return &c.public_status; }},
      {"socket-allow", Kind::text, "peers allowed on the unix socket: UID or @GROUP, comma-separated (root always)",
       [](AgentConfig& c) -> void* { return &c.socket_allow; }},
      {"socket-group", Kind::text, "group that owns the unix socket file",
       [](AgentConfig& c) -> void* { return &c.socket_group; }},
      {"insecure-http", Kind::flag, "allow --http on a non-loopback address without --jwt-key",
       [](AgentConfig& c) -> void* { return &c.insecure_http; }},
      {"allow-inject", Kind::flag,
       "allow injected calls into the node (jemalloc's mallctl, glibc's mallinfo2 without debug info): they run "
       "code of the node on one of its waiting threads; off by default",
       [](AgentConfig& c) -> void* { return &c.allow_inject; }},
      {"health-url", Kind::text, "check the node's health here: http://host:port/path or unix:/path/to.sock:/path",
       [](AgentConfig& c) -> void* { return &c.health_url; }},
      {"health-interval", Kind::real, "seconds between health checks (default 30)",
       [](AgentConfig& c) -> void* { return &c.health_interval; }},
      {"health-timeout", Kind::real, "seconds a health check may take before it fails as timeout (default 5)",
       [](AgentConfig& c) -> void* { return &c.health_timeout; }},
      {"health-failures", Kind::integer, "failed checks in a row before the node is unhealthy (default 1)",
       [](AgentConfig& c) -> void* { return &c.health_failures; }},
      {"incident-cooldown", Kind::real, "seconds between two incident bundles, at least (default 300)",
       [](AgentConfig& c) -> void* { return &c.incident_cooldown; }},
      {"incident-keep", Kind::integer, "incident bundles kept, the oldest removed first (default 10)",
       [](AgentConfig& c) -> void* { return &c.incident_keep; }},
      {"incident-max-bytes", Kind::integer, "bytes of incident bundles kept in all (default 200 MiB)",
       [](AgentConfig& c) -> void* { return &c.incident_max_bytes; }},
      {"incident-profile-seconds", Kind::real, "seconds of CPU profile in each incident bundle (default 5, 0: none)",
       [](AgentConfig& c) -> void* { return &c.incident_profile_seconds; }},
      {"proxy", Kind::text,
       "API profiler proxy: LISTEN=UPSTREAM (each HOST:PORT or a unix socket path), e.g. 127.0.0.1:9044=127.0.0.1:9042",
       [](AgentConfig& c) -> void* { return &c.proxy; }},
      {"proxy-timeout", Kind::real, "seconds the node may take to answer a proxied call before 504 (default 300)",
       [](AgentConfig& c) -> void* { return &c.proxy_timeout; }},
      {"api-profiler-header", Kind::text,
       "request header that asks the proxy for the call's profile instead of its answer (default SESAM-API-PROFILER)",
       [](AgentConfig& c) -> void* { return &c.api_profiler_header; }},
      {"api-profiler-hz", Kind::integer, "sampling frequency of the proxy's profiles (default 99)",
       [](AgentConfig& c) -> void* { return &c.api_profiler_hz; }},
      {"enable-api-profiler", Kind::flag, "profile every proxied call into <logs>/api_profiler/ (bounded, see below)",
       [](AgentConfig& c) -> void* { return &c.enable_api_profiler; }},
      {"api-profiler-rate", Kind::real, "fraction of the proxied calls profiled by --enable-api-profiler (default 1)",
       [](AgentConfig& c) -> void* { return &c.api_profiler_rate; }},
      {"api-profiler-keep", Kind::integer, "files kept in <logs>/api_profiler/, the oldest removed first (default 1000)",
       [](AgentConfig& c) -> void* { return &c.api_profiler_keep; }},
      {"api-profiler-max-bytes", Kind::integer, "bytes kept in <logs>/api_profiler/ (default 100 MiB)",
       [](AgentConfig& c) -> void* { return &c.api_profiler_max_bytes; }},
      {"job-profile-seconds", Kind::real, "profiler=true: seconds the job is profiled (default 60)",
       [](AgentConfig& c) -> void* { return &c.job_profile_seconds; }},
      {"job-id-pattern", Kind::text,
       "profiler=true: regex on the path whose first group is the job id (default ^/api/pipes/([^/]+)/pump$)",
       [](AgentConfig& c) -> void* { return &c.job_id_pattern; }},
      {"job-status-url", Kind::text,
       "profiler=true: polled each second ({id} = the job id); the profile ends when --job-running-pattern stops matching",
       [](AgentConfig& c) -> void* { return &c.job_status_url; }},
      {"job-running-pattern", Kind::text, "regex that the job status answer matches while the job runs",
       [](AgentConfig& c) -> void* { return &c.job_running_pattern; }},
  };
  return keys;
}

namespace {

Result<void> set_from_json(const Key& key, const rapidjson::Value& v, const std::string& origin,
                           AgentConfig& out) {
  void* field = key.field(out);
  auto wrong = [&](const char* want) {
    return fail(ErrorCode::bad_request,
                origin + ": key \"" + key.name + "\" must be " + want);
  };
  switch (key.kind) {
    case Kind::pid:
      if (!v.IsInt() || v.GetInt() <= 0) return wrong("a positive integer");
      *static_cast<pid_t*>(field) = v.GetInt();
      return {};
    case Kind::integer:
      if (v.IsInt64()) {
        *static_cast<int64_t*>(field) = v.GetInt64();
        return {};
      }
      // Modes read best in octal: accept a string of digits with a leading 0.
      if (v.IsString()) {
        char* end = nullptr;
        std::string s = v.GetString();
        long long n = std::strtoll(s.c_str(), &end, 0);
        if (!s.empty() && end && *end == '\0') {
          *static_cast<int64_t*>(field) = n;
          return {};
        }
      }
      return wrong("an integer");
    case Kind::real:
      if (!v.IsNumber()) return wrong("a number");
      *static_cast<double*>(field) = v.GetDouble();
      return {};
    case Kind::text:
      if (!v.IsString()) return wrong("a string");
      *static_cast<std::string*>(field) = v.GetString();
      return {};
    case Kind::flag:
      if (!v.IsBool()) return wrong("true or false");
      *static_cast<bool*>(field) = v.GetBool();
      return {};
  }
  return {};
}

// Keys of the seed's node metadata entity, {"_id": "node", "type": "metadata",
// "task_manager": {"disable_pump_scheduler": true}}: file-only (no flags), so
// they live beside the table. nullopt: not one of them.
std::optional<Result<void>> apply_entity_key(const std::string& name, const rapidjson::Value& v,
                                             const std::string& origin, AgentConfig& out) {
  auto bad = [&](const std::string& why) -> Result<void> { return fail(ErrorCode::bad_request, origin + ": " + why); };
  if (name == "_id") {
    if (!v.IsString()) return bad("key \"_id\" must be a string (the seed's entity form: \"node\")");
    return Result<void>{};
  }
  if (name == "type") {
    if (!v.IsString() || std::string(v.GetString()) != "metadata")
      return bad("key \"type\" must be \"metadata\" (the seed's node metadata entity)");
    return Result<void>{};
  }
  if (name != "task_manager") return std::nullopt;
  if (!v.IsObject()) return bad("key \"task_manager\" must be an object: {\"disable_pump_scheduler\": true}");
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string k = it->name.GetString();
    if (k != "disable_pump_scheduler")
      return bad("unknown key \"task_manager." + k + "\" (only disable_pump_scheduler)");
    if (!it->value.IsBool()) return bad("key \"task_manager.disable_pump_scheduler\" must be true or false");
    out.disable_scheduler = it->value.GetBool();
  }
  return Result<void>{};
}

}  // namespace

Result<void> apply_config_json(const std::string& json, const std::string& origin,
                               const std::vector<std::string>& set_by_flags, AgentConfig& out) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError())
    return fail(ErrorCode::bad_request,
                origin + ": not valid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                    rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject()) return fail(ErrorCode::bad_request, origin + ": must be a JSON object");
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    if (auto entity = apply_entity_key(name, it->value, origin, out)) {
      if (!*entity) return *entity;
      continue;
    }
    const auto& keys = agent_keys();
    auto key = std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.name == name; });
    if (key == keys.end())
      return fail(ErrorCode::bad_request, origin + ": unknown key \"" + name + "\" (keys are the flags of `sonde agent --help` without --)");
    if (std::find(set_by_flags.begin(), set_by_flags.end(), name) != set_by_flags.end()) continue;
    if (auto r = set_from_json(*key, it->value, origin, out); !r) return r;
  }
  return {};
}

Result<void> apply_config_file(const std::string& path, const std::vector<std::string>& set_by_flags,
                               AgentConfig& out) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::bad_request, "cannot read config file " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return apply_config_json(ss.str(), path, set_by_flags, out);
}

namespace {
Result<void> validate_proxy(const AgentConfig& c) {
  auto bad = [](const std::string& m) -> Result<void> { return fail(ErrorCode::bad_request, m); };
  if (c.proxy.empty()) {
    if (c.enable_api_profiler) return bad("--enable-api-profiler needs --proxy LISTEN=UPSTREAM (the calls go through it)");
    return {};
  }
  if (c.proxy.find('=') == std::string::npos)
    return bad("--proxy takes LISTEN=UPSTREAM, e.g. 127.0.0.1:9044=127.0.0.1:9042");
  if (c.proxy_timeout <= 0) return bad("--proxy-timeout must be positive");
  if (c.api_profiler_header.empty() || c.api_profiler_header.find_first_of(" :\r\n") != std::string::npos)
    return bad("--api-profiler-header must be a header name (no spaces or colons)");
  if (c.api_profiler_hz < 1 || c.api_profiler_hz > 1000) return bad("--api-profiler-hz must be within 1..1000");
  if (!(c.api_profiler_rate > 0) || c.api_profiler_rate > 1) return bad("--api-profiler-rate must be > 0 and <= 1");
  if (c.api_profiler_keep < 2) return bad("--api-profiler-keep must be at least 2 (a call makes two files)");
  if (c.api_profiler_max_bytes < 4096) return bad("--api-profiler-max-bytes must be at least 4096");
  if (!(c.job_profile_seconds > 0) || c.job_profile_seconds > 3600)
    return bad("--job-profile-seconds must be > 0 and <= 3600");
  for (auto [name, re] : {std::pair{"--job-id-pattern", &c.job_id_pattern}, std::pair{"--job-running-pattern", &c.job_running_pattern}}) {
    try {
      std::regex compiled(*re);
      if (name == std::string("--job-id-pattern") && compiled.mark_count() < 1)
        return bad("--job-id-pattern needs a group: its first one is the job id");
    } catch (const std::regex_error& e) {
      return bad(std::string(name) + " is not a valid regex: " + e.what());
    }
  }
  return {};
}
}  // namespace

Result<void> validate(const AgentConfig& c) {
  int targets = (c.pid > 0) + !c.pid_file.empty() + !c.match.empty();
  if (targets == 0)
    return fail(ErrorCode::bad_request, "no target: give --pid N, --pid-file FILE or --match REGEX");
  if (targets > 1)
    return fail(ErrorCode::bad_request, "give only one of --pid, --pid-file and --match");
  if ((c.socket.empty() || c.socket == "off") && c.http == "off")
    return fail(ErrorCode::bad_request, "no listener: give --socket PATH or --http HOST:PORT");
  if (c.max_connections < 1) return fail(ErrorCode::bad_request, "--max-connections must be at least 1");
  if (c.read_timeout <= 0) return fail(ErrorCode::bad_request, "--read-timeout must be positive");
  if (c.rate_limit < 0) return fail(ErrorCode::bad_request, "--rate-limit must be 0 (off) or positive");
  if (c.log_keep < 1 || c.stacktrace_keep < 1)
    return fail(ErrorCode::bad_request, "--log-keep and --stacktrace-keep must be at least 1");
  if (c.log_max_bytes < 4096) return fail(ErrorCode::bad_request, "--log-max-bytes must be at least 4096");
  if (c.socket_mode < 0 || c.socket_mode > 0777)
    return fail(ErrorCode::bad_request, "--socket-mode must be a file mode between 0 and 0777");
  // A check every few milliseconds would be load on the node, not a health check.
  if (c.health_interval < 0.05) return fail(ErrorCode::bad_request, "--health-interval must be at least 0.05 seconds");
  if (c.health_timeout <= 0) return fail(ErrorCode::bad_request, "--health-timeout must be positive");
  if (c.health_failures < 1) return fail(ErrorCode::bad_request, "--health-failures must be at least 1");
  if (c.incident_cooldown < 0) return fail(ErrorCode::bad_request, "--incident-cooldown must not be negative");
  if (c.incident_profile_seconds < 0 || c.incident_profile_seconds > 600)
    return fail(ErrorCode::bad_request, "--incident-profile-seconds must be within 0..600");
  if (c.incident_keep < 1 || c.incident_max_bytes < 1)
    return fail(ErrorCode::bad_request, "--incident-keep and --incident-max-bytes must be at least 1");
  if (auto r = validate_proxy(c); !r) return r;
  return {};
}

std::string default_logs_dir() {
  // systemd's LogsDirectory= hands the folder over in LOGS_DIRECTORY.
  if (const char* d = std::getenv("LOGS_DIRECTORY")) return d;
  if (::geteuid() == 0) return "/var/log/sonde";
  if (const char* s = std::getenv("XDG_STATE_HOME")) return std::string(s) + "/sonde";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.local/state/sonde";
  return "sonde-logs";
}

std::string default_socket_path() {
  if (const char* d = std::getenv("RUNTIME_DIRECTORY")) return std::string(d) + "/sonde.sock";
  return "";
}

}  // namespace sonde::config
