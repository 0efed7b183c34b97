#include "proxy/call_names.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <regex>

#include "daemon/profile_files.h"

namespace sonde::proxy {

std::string route_slug(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (out.size() >= 80) break;
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (out.empty() && c == '/') continue;
    out += keep ? c : '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty() || out == "." || out == "..") return "root";
  return out;
}

std::string call_time(double epoch) {
  auto secs = static_cast<time_t>(std::floor(epoch));
  int ms = static_cast<int>((epoch - double(secs)) * 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, std::min(ms, 999));
}

std::string call_stem(const CallRecord& call) {
  return call_time(call.start_epoch) + "-" + route_slug(call.method) + "-" + route_slug(call.path);
}

std::optional<std::string> job_id(const std::string& path, const std::string& pattern) {
  try {
    std::smatch m;
    std::regex re(pattern);
    if (!std::regex_search(path, m, re) || m.size() < 2 || !m[1].matched) return std::nullopt;
    std::string id = m[1].str();
    if (!daemon::valid_profile_name(id)) return std::nullopt;
    return id;
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

void annotate(aggregate::Profile& profile, const CallRecord& call) {
  // First, whatever was noted before (the thread): the call is what a reader looks for.
  auto& notes = profile.info.notes;
  notes.insert(notes.begin(), {{"call", call.method + " " + call.target},
                               {"status", call.status ? std::to_string(call.status) : "none (the node did not answer)"},
                               {"duration_ms", fmt::format("{:.3f}", call.duration_ms)}});
}

}  // namespace sonde::proxy
