// `sonde demo`: starts the bundled demo node and an agent attached to it,
// prints what to try, and stops both on Ctrl-C. The README's first command.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "daemon/daemon.h"

extern char** environ;

namespace sonde::cli {

namespace {
namespace fs = std::filesystem;

struct DemoArgs {
  int node_port = 9042;
  std::string http = "127.0.0.1:9043";
  std::string dir;
};

// The demo node is installed beside sonde; in a build tree it is in demo/.
std::string find_demo_node() {
  fs::path self = fs::read_symlink("/proc/self/exe");
  for (auto p : {self.parent_path() / "sonde-demo-node", self.parent_path() / "demo" / "sonde-demo-node"})
    if (::access(p.c_str(), X_OK) == 0) return p;
  return "";
}

std::string runtime_dir() {
  if (const char* x = std::getenv("XDG_RUNTIME_DIR")) return std::string(x) + "/sonde-demo";
  return "/tmp/sonde-demo-" + std::to_string(::getuid());
}

// Starts the node with its stdout on a pipe and waits for its ready line.
Result<pid_t> start_node(const std::string& exe, int port, std::string& ready_line) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(ErrorCode::io, "pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  std::string port_s = std::to_string(port);
  char* argv[] = {const_cast<char*>(exe.c_str()), const_cast<char*>("--port"), port_s.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return fail(ErrorCode::io, "cannot start " + exe + ": " + std::strerror(rc));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string out;
  while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (out.find("ready") == std::string::npos) {
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return fail(ErrorCode::io, "the demo node did not start (port " + port_s +
                                   " taken? try `sonde demo --node-port N`); exit status " + std::to_string(st));
  }
  ready_line = out.substr(0, out.find('\n'));
  return pid;
}

void stop_node(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    ::usleep(10000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

void print_tryouts(const std::string& http, const std::string& sock, const std::string& logs, pid_t node, int node_port) {
  // The commands name the binary that runs, so they work before `sonde` is on PATH.
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) self = "sonde";
  const char* me = self.c_str();
  std::printf(
      "\nsonde demo: the demo node runs as pid %d (its own health check: http://127.0.0.1:%d/api/health)\n"
      "and an agent is attached to it. Try, in another terminal:\n\n"
      "  %s stacks --socket %s --format text       # what every thread is doing\n"
      "  %s profile --socket %s --seconds 5 --format pstats -o demo.pstat\n"
      "      python3 -c 'import pstats; pstats.Stats(\"demo.pstat\").sort_stats(\"tottime\").print_stats(8)'\n"
      "  %s heap --socket %s                       # where the memory goes\n"
      "  %s status --pid %d --pretty                # one shot, no agent needed\n"
      "  curl -s http://%s/api/status | python3 -m json.tool\n"
      "  curl -s -O -J 'http://%s/api/profile?seconds=5&format=flamegraph'   # open the .html\n"
      "  curl -s http://%s/api/status/stacktrace > stacks.html\n"
      "  curl -s http://%s/metrics\n\n"
      "Logs: %s (sonde.log, access.log). Ctrl-C stops the agent and the demo node.\n\n",
      node, node_port, me, sock.c_str(), me, sock.c_str(), me, sock.c_str(), me, node, http.c_str(), http.c_str(),
      http.c_str(), http.c_str(), logs.c_str());
  std::fflush(stdout);
}
}  // namespace

Runner add_demo_command(CLI::App& app) {
  auto* sub = app.add_subcommand("demo", "start the bundled demo node and an agent attached to it");
  auto args = std::make_shared<DemoArgs>();
  sub->add_option("--node-port", args->node_port, "port of the demo node's own HTTP API")->check(CLI::Range(1, 65535));
  sub->add_option("--http", args->http, "where the agent serves its API (HOST:PORT)");
  sub->add_option("--dir", args->dir, "folder for the agent's socket and logs (default: a runtime folder)");
  return [args]() -> int {
    std::string exe = find_demo_node();
    if (exe.empty()) {
      std::fprintf(stderr, "sonde demo: sonde-demo-node is not installed beside sonde\n");
      return exit_failure;
    }
    std::string dir = args->dir.empty() ? runtime_dir() : args->dir;
    std::error_code ec;
    fs::create_directories(dir, ec);
    ::chmod(dir.c_str(), 0700);
    std::string ready;
    auto node = start_node(exe, args->node_port, ready);
    if (!node) {
      std::fprintf(stderr, "sonde demo: %s\n", node.error().message.c_str());
      return exit_failure;
    }
    config::AgentConfig cfg;
    cfg.pid = *node;
    cfg.socket = dir + "/sonde.sock";
    cfg.http = args->http;
    cfg.logs = dir + "/logs";
    int code = exit_failure;
    {
      daemon::Daemon d(cfg);
      if (auto r = d.start(); !r) {
        std::fprintf(stderr, "sonde demo: %s\n", r.error().message.c_str());
      } else {
        std::string http = args->http.substr(0, args->http.rfind(':')) + ":" + std::to_string(d.tcp_port());
        d.on_ready = [&] { print_tryouts(http, cfg.socket, cfg.logs, *node, args->node_port); };
        code = d.run();
      }
    }
    stop_node(*node);
    std::printf("sonde demo: stopped the agent and the demo node (pid %d)\n", *node);
    return code;
  };
}

}  // namespace sonde::cli
