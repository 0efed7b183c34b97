#include "proxy/serving_thread.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace sonde::proxy {

namespace fs = std::filesystem;

namespace {

// "0100007F:1F90" as /proc/net/tcp prints an address (the IP's bytes as a native u32).
std::string proc_address(uint32_t ip_network_order, uint16_t port) {
  return fmt::format("{:08X}:{:04X}", ip_network_order, port);
}

// The inode of the node's socket whose peer is our end of the link.
uint64_t node_socket_inode(pid_t node, const TcpLink& link) {
  std::ifstream in("/proc/" + std::to_string(node) + "/net/tcp");
  const std::string ours = proc_address(link.local_ip, link.local_port);
  const std::string theirs = proc_address(link.remote_ip, link.remote_port);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
    if (!(f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode)) continue;
    if (local == theirs && remote == ours) return std::stoull(inode);
  }
  return 0;
}

int fd_of_inode(pid_t node, uint64_t inode) {
  const std::string want = "socket:[" + std::to_string(inode) + "]";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(node) + "/fd", ec)) {
    std::error_code ec2;
    if (fs::read_symlink(e.path(), ec2).string() == want) return std::atoi(e.path().filename().c_str());
  }
  return -1;
}

// A thread blocked reading `fd`: read, readv, recvfrom, recvmsg (x86_64 numbers).
pid_t reader_of(pid_t node, int fd) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(node) + "/task", ec)) {
    std::ifstream in(e.path() / "syscall");
    long nr = -1;
    std::string arg;
    if (!(in >> nr >> arg)) continue;
    if (nr != 0 && nr != 19 && nr != 45 && nr != 47) continue;
    if (std::stol(arg, nullptr, 16) == fd) return std::atoi(e.path().filename().c_str());
  }
  return 0;
}

}  // namespace

pid_t serving_thread(pid_t node, const TcpLink& link, std::chrono::milliseconds wait) {
  if (!link.known()) return 0;
  uint64_t inode = node_socket_inode(node, link);
  if (!inode) return 0;
  int fd = fd_of_inode(node, inode);
  if (fd < 0) return 0;
  // The thread may still be writing the answer or tidying up: look again for a moment.
  auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (pid_t tid = reader_of(node, fd)) return tid;
    if (std::chrono::steady_clock::now() >= until) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace sonde::proxy
