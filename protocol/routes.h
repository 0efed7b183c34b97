// The HTTP routes of the agent, shared by the agent and the client so both
// spell them the same way (DESIGN.md §1).
#pragma once

namespace sonde::protocol::routes {

inline constexpr const char* status = "/api/status";
inline constexpr const char* health = "/api/health";
inline constexpr const char* metrics = "/metrics";
inline constexpr const char* stacktrace = "/api/status/stacktrace";
inline constexpr const char* heap = "/api/status/heap";
inline constexpr const char* mallocstats = "/api/status/debugmallocstats";
inline constexpr const char* profile = "/api/profile";
inline constexpr const char* profiles = "/api/profiles";
inline constexpr const char* incidents = "/api/incidents";
inline constexpr const char* scheduler = "/api/scheduler";

}  // namespace sonde::protocol::routes
