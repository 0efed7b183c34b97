#include "target/node_tracker.h"

#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace sonde::target {

namespace {
int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
}  // namespace

NodeTracker::NodeTracker(boost::asio::io_context& io, TargetSpec spec)
    : io_(io), strand_(boost::asio::make_strand(io)), spec_(std::move(spec)), pidfd_(strand_), retry_(strand_),
      backoff_(min_backoff) {}

NodeTracker::~NodeTracker() {
  stopped_ = true;
  boost::system::error_code ec;
  retry_.cancel();
  if (pidfd_.is_open()) pidfd_.close(ec);
}

Result<NodeId> NodeTracker::start() {
  auto id = resolve(spec_);
  if (id) {
    attach(*id);
    return id;
  }
  last_error_ = id.error().message;
  if (spec_.can_reresolve()) {
    spdlog::warn("node not found ({}); looking again with backoff", id.error().message);
    schedule_resolve();
  }
  return id;
}

void NodeTracker::stop() {
  stopped_ = true;
  boost::asio::post(strand_, [this] {
    boost::system::error_code ec;
    retry_.cancel();
    if (pidfd_.is_open()) pidfd_.close(ec);
  });
}

std::optional<NodeId> NodeTracker::current() const {
  std::lock_guard lock(mu_);
  return node_;
}

void NodeTracker::attach(const NodeId& id) {
  int fd = open_pidfd(id.pid);
  if (fd < 0) {
    spdlog::warn("pidfd_open({}) failed: {}; the node's exit is noticed only when a request reads it",
                 id.pid, std::strerror(errno));
  }
  // The pid may have been recycled between resolve and pidfd_open: check again
  // now that the pidfd pins the process.
  if (!still_alive(id)) {
    if (fd >= 0) ::close(fd);
    lost("exited while attaching");
    return;
  }
  {
    std::lock_guard lock(mu_);
    node_ = id;
  }
  backoff_ = min_backoff;
  spdlog::info("attached to node pid {} ({})", id.pid, spec_.describe());
  if (fd >= 0) {
    boost::system::error_code ec;
    if (pidfd_.is_open()) pidfd_.close(ec);
    pidfd_.assign(fd);
    watch_exit();
  }
  if (on_change_) on_change_(true, id);
}

void NodeTracker::watch_exit() {
  // A pidfd becomes readable when the process exits.
  pidfd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    boost::system::error_code ignore;
    pidfd_.close(ignore);
    lost("exited");
  });
}

void NodeTracker::lost(const char* why) {
  std::optional<NodeId> was;
  {
    std::lock_guard lock(mu_);
    was = node_;
    node_.reset();
  }
  if (was) {
    spdlog::warn("node pid {} {}; node routes answer 503 until it is back", was->pid, why);
    if (on_change_) on_change_(false, *was);
  }
  if (spec_.can_reresolve() && !stopped_) {
    schedule_resolve();
  } else if (was) {
    spdlog::warn("the target was a fixed pid: the agent stays detached (use --pid-file or --match to follow restarts)");
  }
}

void NodeTracker::schedule_resolve() {
  retry_.expires_after(backoff_);
  retry_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    auto id = resolve(spec_);
    if (id) {
      attach(*id);
      return;
    }
    if (id.error().message != last_error_) {
      spdlog::info("still looking for the node: {}", id.error().message);
      last_error_ = id.error().message;
    }
    backoff_ = std::min(backoff_ * 2, max_backoff);
    schedule_resolve();
  });
}

}  // namespace sonde::target
