#include "agent_process.h"

#include <sys/wait.h>
#include <unistd.h>

namespace sonde::test {

bool AgentProcess::start(const std::vector<std::string>& target_flags, const std::vector<std::string>& extra) {
  port = free_port();
  socket = dir.path + "/sonde.sock";
  logs = dir.path + "/logs";
  std::vector<std::string> argv{build_path("SONDE_BIN"), "agent"};
  argv.insert(argv.end(), target_flags.begin(), target_flags.end());
  for (auto& a : std::vector<std::string>{"--socket", socket, "--http", "127.0.0.1:" + std::to_string(port),
                                          "--logs", logs})
    argv.push_back(a);
  argv.insert(argv.end(), extra.begin(), extra.end());
  child = Child::spawn(argv, dir.path + "/agent.out");
  return wait_until([&] { return get("/api/health").status == 200 || !child.running(); }) && child.running();
}

client::Endpoint AgentProcess::tcp() const {
  return *client::parse_url("http://127.0.0.1:" + std::to_string(port));
}

client::Endpoint AgentProcess::unix() const { return client::unix_endpoint(socket); }

client::HttpResponse AgentProcess::get(const std::string& target) const {
  auto r = client::request(tcp(), "GET", target, "", {}, std::chrono::seconds(30));
  return r ? *r : client::HttpResponse{};
}

int run_sonde(const std::vector<std::string>& args, std::string* out, std::string* err, int timeout_s) {
  TempDir d;
  std::vector<std::string> argv{build_path("SONDE_BIN")};
  argv.insert(argv.end(), args.begin(), args.end());
  // stdout and stderr apart: a shell does the redirection simply and safely here.
  std::string cmd;
  for (auto& a : argv) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += q + "' ";
  }
  cmd = "timeout " + std::to_string(timeout_s) + " " + cmd + ">" + d.path + "/out 2>" + d.path + "/err";
  int st = std::system(cmd.c_str());
  if (out) *out = read_file(d.path + "/out");
  if (err) *err = read_file(d.path + "/err");
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace sonde::test
