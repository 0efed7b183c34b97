#include "schedule/scheduler.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "protocol/iso_time.h"

namespace sonde::schedule {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Timer, generation and next_due are touched on the strand only; the status on
// the strand under mu_ (jobs() reads it from any thread).
struct Scheduler::Slot {
  Slot(Job j, asio::strand<asio::io_context::executor_type>& strand) : job(std::move(j)), timer(strand) {}
  Job job;
  asio::steady_timer timer;
  uint64_t generation = 0;  // bumped to orphan a pending tick (disable, stop)
  Clock::time_point next_due{};
  JobStatus status;
  Clock::time_point last_skip_log{};
  int64_t skipped_unlogged = 0;
};

Scheduler::Scheduler(asio::io_context& io, CaptureGate& gate) : io_(io), strand_(asio::make_strand(io)), gate_(gate) {}

Scheduler::~Scheduler() { stopped_ = true; }

void Scheduler::add(Job job) {
  auto slot = std::make_shared<Slot>(std::move(job), strand_);
  slot->status.name = slot->job.name;
  slot->status.interval_seconds = std::chrono::duration<double>(slot->job.interval).count();
  slot->status.takes_capture = slot->job.takes_capture;
  {
    std::lock_guard lock(mu_);
    slots_.push_back(slot);
  }
  if (started_ && !disabled_ && !stopped_) asio::post(strand_, [this, slot] { arm(slot, true); });
}

void Scheduler::start(bool disabled, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    reason_ = why;
  }
  disabled_ = disabled;
  started_ = true;
  if (disabled) {
    spdlog::warn("safe mode: no scheduled jobs ({}); POST /api/scheduler {{\"disabled\": false}} turns them on",
                 why);
    return;
  }
  asio::post(strand_, [this] {
    std::lock_guard lock(mu_);
    for (auto& s : slots_) arm(s, true);
  });
}

void Scheduler::stop() {
  stopped_ = true;
  asio::post(strand_, [this] {
    std::lock_guard lock(mu_);
    for (auto& s : slots_) {
      ++s->generation;
      s->timer.cancel();
    }
  });
}

void Scheduler::set_disabled(bool disabled, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    reason_ = why;
  }
  bool was = disabled_.exchange(disabled);
  if (was != disabled) spdlog::warn("scheduler {} ({})", disabled ? "disabled: safe mode" : "enabled", why);
  if (was == disabled || !started_ || stopped_) return;
  asio::post(strand_, [this, disabled] {
    std::lock_guard lock(mu_);
    for (auto& s : slots_) {
      ++s->generation;
      s->timer.cancel();
      if (!disabled) arm(s, true);
    }
  });
}

std::string Scheduler::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

std::vector<JobStatus> Scheduler::jobs() const {
  std::lock_guard lock(mu_);
  std::vector<JobStatus> out;
  for (auto& s : slots_) out.push_back(s->status);
  return out;
}

void Scheduler::arm(const std::shared_ptr<Slot>& slot, bool now) {
  auto t = Clock::now();
  if (now) {
    slot->next_due = t;
  } else {
    // Fixed rate: ticks stay on the grid; a late tick does not make the next one early.
    slot->next_due += slot->job.interval;
    if (slot->next_due <= t) slot->next_due = t + slot->job.interval;
  }
  slot->timer.expires_at(slot->next_due);
  uint64_t gen = slot->generation;
  slot->timer.async_wait([this, slot, gen](boost::system::error_code ec) {
    if (!ec) tick(slot, gen);
  });
}

void Scheduler::tick(const std::shared_ptr<Slot>& slot, uint64_t generation) {
  std::unique_lock lock(mu_);
  if (generation != slot->generation || stopped_ || disabled_) return;
  arm(slot, false);
  if (slot->status.running) return skip(slot, "its previous run is still going");
  auto lease = std::make_shared<std::optional<CaptureGate::Lease>>();
  if (slot->job.takes_capture) {
    *lease = gate_.try_acquire(slot->job.name);
    if (!*lease) return skip(slot, "a capture is in progress (" + gate_.holder() + ")");
  }
  slot->status.running = true;
  ++slot->status.runs;
  slot->status.last_run = protocol::now_epoch();
  lock.unlock();
  JobDone done = [this, slot, lease](Result<void> r) {
    lease->reset();  // the capture is over as soon as the run is
    asio::post(strand_, [this, slot, r = std::move(r)]() mutable { finished(slot, std::move(r)); });
  };
  try {
    slot->job.run(done);
  } catch (const std::exception& e) {
    done(fail(ErrorCode::internal, std::string("threw: ") + e.what()));
  }
}

void Scheduler::finished(const std::shared_ptr<Slot>& slot, Result<void> r) {
  std::lock_guard lock(mu_);
  slot->status.running = false;
  if (r) return;
  ++slot->status.failures;
  slot->status.last_error = r.error().message;
  if (!stopped_) spdlog::warn("job {} failed: {}; it runs again at its next tick", slot->job.name, r.error().message);
}

// Called with mu_ held. Logged at the first skip and then at most every 10 s,
// so a short interval does not flood the agent's log.
void Scheduler::skip(const std::shared_ptr<Slot>& slot, const std::string& why) {
  ++slot->status.skipped;
  ++slot->skipped_unlogged;
  auto t = Clock::now();
  if (slot->last_skip_log != Clock::time_point{} && t - slot->last_skip_log < std::chrono::seconds(10)) return;
  spdlog::info("job {}: skipped {} tick(s): {}", slot->job.name, slot->skipped_unlogged, why);
  slot->last_skip_log = t;
  slot->skipped_unlogged = 0;
}

}  // namespace sonde::schedule
