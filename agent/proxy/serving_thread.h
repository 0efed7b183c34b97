// Which thread of the node serves a connection of ours, when that can be
// known from outside: a thread-per-connection node (the demo node, many Java
// and Python servers) parks the connection's thread in read() on its socket
// between requests. We find the node's end of our TCP connection in
// /proc/NODE/net/tcp, its fd in /proc/NODE/fd, and the thread whose
// /proc/NODE/task/TID/syscall is a read on that fd. Reading those files
// never stops the node. An event-loop node (epoll) parks no thread on one
// socket: then 0, and the call keeps the whole node's samples.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>

namespace sonde::proxy {

// Our end of a TCP connection to the node, IPv4 (what /proc/net/tcp lists).
struct TcpLink {
  uint32_t local_ip = 0, remote_ip = 0;  // network byte order, as in sockaddr_in
  uint16_t local_port = 0, remote_port = 0;  // host byte order
  bool known() const { return local_port != 0; }
};

// The tid, or 0 when no thread of `node` is parked on the connection within `wait`.
pid_t serving_thread(pid_t node, const TcpLink& link, std::chrono::milliseconds wait);

}  // namespace sonde::proxy
