// What the proxy tests share: real upstreams (python3 -m http.server, and
// upstream.py for request bodies and chunked answers) on free ports, an agent
// with --proxy in front of one, and curl to talk through it.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "../integration/agent_process.h"
#include "child.h"

namespace sonde::test {

inline std::string here(const std::string& name) {
  return std::filesystem::path(__FILE__).parent_path().string() + "/" + name;
}

inline bool port_answers(int port) {
  return shell("curl -s -o /dev/null --max-time 1 http://127.0.0.1:" + std::to_string(port) + "/").status == 0;
}

// An upstream HTTP server, killed by its pid when it goes.
struct Upstream {
  TempDir dir;
  int port = 0;
  Child child;
  // kind "http.server": python3 -m http.server serving files/; "upstream.py": the echo server.
  explicit Upstream(const std::string& kind) {
    port = free_port();
    std::filesystem::create_directories(dir.path + "/files");
    std::vector<std::string> argv;
    if (kind == "http.server")
      argv = {"/usr/bin/env", "python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
              "--directory", dir.path};
    else
      argv = {"/usr/bin/env", "python3", here("upstream.py"), std::to_string(port), dir.path + "/files"};
    child = Child::spawn(argv, dir.path + "/out");
  }
  bool ready() { return wait_until([&] { return port_answers(port); }, std::chrono::seconds(20)); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  // A file of `size` random bytes under files/; returns its path.
  std::string make_file(const std::string& name, size_t size) const {
    std::string path = dir.path + "/files/" + name;
    std::mt19937 rng(42);
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }
};

// An agent attached to `node_pid` with --proxy 127.0.0.1:FREE=UPSTREAM.
struct ProxiedAgent {
  AgentProcess agent;
  int proxy_port = 0;
  bool start(int node_pid, const std::string& upstream, const std::vector<std::string>& extra = {}) {
    proxy_port = free_port();
    std::vector<std::string> flags{"--proxy", "127.0.0.1:" + std::to_string(proxy_port) + "=" + upstream};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return agent.start({"--pid", std::to_string(node_pid)}, flags);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(proxy_port) + path; }
};

inline std::string sha256_of(const std::string& path) {
  auto r = shell("sha256sum '" + path + "' | cut -d' ' -f1");
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

}  // namespace sonde::test
