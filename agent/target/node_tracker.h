// Keeps track of the node for the daemon: notices its exit at once (a pidfd
// waited on by Asio), and, when the target can be re-resolved (--pid-file,
// --match), looks for it again with backoff until it is back.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "target/node.h"
#include "target/resolve.h"

namespace sonde::target {

class NodeTracker {
 public:
  NodeTracker(boost::asio::io_context& io, TargetSpec spec);
  ~NodeTracker();

  // First resolution (call before the I/O threads run); on failure the
  // tracker keeps looking when it can.
  Result<NodeId> start();
  // Thread-safe.
  void stop();

  // The node now, or nullopt while detached. Safe from any thread.
  std::optional<NodeId> current() const;
  // Called on the io thread when the node is attached (true) or lost (false).
  void on_change(std::function<void(bool attached, const NodeId&)> cb) { on_change_ = std::move(cb); }

  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};

 private:
  void attach(const NodeId& id);
  void watch_exit();
  void lost(const char* why);
  void schedule_resolve();

  boost::asio::io_context& io_;
  // All of the tracker's own handlers run on this strand (the agent has
  // several I/O threads); current() is the only cross-thread reader.
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  TargetSpec spec_;
  mutable std::mutex mu_;
  std::optional<NodeId> node_;
  boost::asio::posix::stream_descriptor pidfd_;
  boost::asio::steady_timer retry_;
  std::chrono::milliseconds backoff_;
  std::string last_error_;
  std::atomic<bool> stopped_{false};
  std::function<void(bool, const NodeId&)> on_change_;
};

}  // namespace sonde::target
