#include "schedule/capture_gate.h"

namespace sonde::schedule {

std::optional<CaptureGate::Lease> CaptureGate::try_acquire(const std::string& who) {
  std::lock_guard lock(mu_);
  if (busy_) return std::nullopt;
  busy_ = true;
  holder_ = who;
  return Lease(this);
}

CaptureGate::Lease CaptureGate::acquire(const std::string& who) {
  std::unique_lock lock(mu_);
  freed_.wait(lock, [this] { return !busy_; });
  busy_ = true;
  holder_ = who;
  return Lease(this);
}

bool CaptureGate::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

std::string CaptureGate::holder() const {
  std::lock_guard lock(mu_);
  return holder_;
}

void CaptureGate::release() {
  {
    std::lock_guard lock(mu_);
    busy_ = false;
    holder_.clear();
  }
  freed_.notify_one();
}

}  // namespace sonde::schedule
