#include "target/resolve.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

#include "target/procfs.h"

namespace sonde::target {

std::string TargetSpec::describe() const {
  if (pid > 0) return "pid " + std::to_string(pid);
  if (!pid_file.empty()) return "pid file " + pid_file;
  return "command lines matching /" + match + "/";
}

Result<pid_t> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::no_node, "cannot read pid file " + path + ": " + std::strerror(errno));
  long v = 0;
  if (!(in >> v) || v <= 0)
    return fail(ErrorCode::no_node, "pid file " + path + " does not hold a pid");
  return static_cast<pid_t>(v);
}

Result<NodeId> resolve_pid_file(const std::string& path) {
  auto pid = read_pid_file(path);
  if (!pid) return std::unexpected(pid.error());
  auto id = identify(*pid);
  if (!id) return id;
  // The node writes its pid file after it starts. A process that started after
  // the file was last written cannot be its writer: the pid was recycled.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    double written = double(st.st_mtim.tv_sec) + double(st.st_mtim.tv_nsec) / 1e9;
    double started = start_time_epoch(*id);
    // Start times have clock-tick (10 ms) resolution: allow a little more.
    if (started > written + 0.5)
      return fail(ErrorCode::no_node, "pid file " + path + " is stale: pid " + std::to_string(*pid) +
                                          " belongs to a process that started after the file was written");
  }
  return id;
}

Result<NodeId> resolve_match(const std::string& pattern, pid_t exclude_self) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::extended);
  } catch (const std::regex_error& e) {
    return fail(ErrorCode::bad_request, "--match: invalid regex /" + pattern + "/: " + e.what());
  }
  std::vector<std::pair<pid_t, std::string>> found;
  for (pid_t pid : list_pids()) {
    if (pid == exclude_self) continue;
    auto args = read_cmdline(pid);
    if (!args || args->empty()) continue;  // kernel threads have no command line
    std::string line;
    for (auto& a : *args) line += (line.empty() ? "" : " ") + a;
    // A `sonde agent --match X` of another agent matches X too: never attach to an agent.
    if (line.find(" --match") != std::string::npos && line.find("sonde") != std::string::npos) continue;
    if (std::regex_search(line, re)) found.emplace_back(pid, line);
  }
  if (found.empty()) return fail(ErrorCode::no_node, "no process matches /" + pattern + "/");
  if (found.size() > 1) {
    std::string list;
    for (auto& [pid, line] : found) list += "; " + std::to_string(pid) + ": " + line.substr(0, 120);
    return fail(ErrorCode::bad_request, std::to_string(found.size()) + " processes match /" + pattern +
                                            "/, make the pattern select one" + list);
  }
  return identify(found[0].first);
}

Result<NodeId> resolve(const TargetSpec& spec) {
  if (spec.pid > 0) return identify(spec.pid);
  if (!spec.pid_file.empty()) return resolve_pid_file(spec.pid_file);
  if (!spec.match.empty()) return resolve_match(spec.match, ::getpid());
  return fail(ErrorCode::bad_request, "no target: give --pid N, --pid-file FILE or --match REGEX");
}

}  // namespace sonde::target
