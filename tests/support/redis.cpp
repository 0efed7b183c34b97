#include "redis.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace sonde::test {

void RedisServer::require() {
  if (::access("/usr/bin/redis-server", X_OK) != 0 || ::access("/usr/bin/redis-cli", X_OK) != 0) {
    std::fprintf(stderr, "\n*** SKIPPED (needs redis-server and redis-cli): apt-get install redis-server ***\n\n");
    std::exit(77);
  }
}

RedisServer::RedisServer(const std::vector<std::string>& extra) {
  port_ = free_port();
  std::vector<std::string> argv = {"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", dir_.path, "--daemonize", "no"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  child_ = Child::spawn(argv, dir_.path + "/redis.out");
  ready_ = wait_for_text(dir_.path + "/redis.out", "Ready to accept connections", std::chrono::seconds(20));
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"/usr/bin/redis-cli", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  TempDir d;
  Child c = Child::spawn(argv, d.path + "/out");
  if (c.wait(std::chrono::seconds(60)) != 0) return "";
  return read_file(d.path + "/out");
}

long long RedisServer::info_field(const std::string& section, const std::string& field) const {
  std::string text = cli({"INFO", section});
  std::string key = "\n" + field + ":";
  auto at = ("\n" + text).find(key);
  if (at == std::string::npos) return -1;
  return std::atoll(text.c_str() + at - 1 + key.size());
}

}  // namespace sonde::test
