#include "schedule/capture_queue.h"

#include <boost/asio/post.hpp>

namespace sonde::schedule {

bool CaptureQueue::post(std::string who, std::function<void()> job) {
  std::lock_guard lock(mu_);
  if (running_ && queue_.size() >= max_waiting_) return false;
  queue_.push_back({std::move(who), std::move(job)});
  if (!running_) {
    running_ = true;
    boost::asio::post(workers_, [this] { run_next(); });
  }
  return true;
}

std::size_t CaptureQueue::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void CaptureQueue::run_next() {
  Job job;
  {
    std::lock_guard lock(mu_);
    job = std::move(queue_.front());
    queue_.pop_front();
  }
  {
    // Waits only while a scheduled capture or an incident bundle holds it.
    auto lease = gate_.acquire(job.who);
    job.run();
  }
  std::lock_guard lock(mu_);
  if (queue_.empty()) {
    running_ = false;
  } else {
    // One job per worker task: the other worker stays free for the rest.
    boost::asio::post(workers_, [this] { run_next(); });
  }
}

}  // namespace sonde::schedule
