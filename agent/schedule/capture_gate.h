// "A capture is running on the node": held by whatever stops the node's
// threads on the agent's own initiative (incident bundles, periodic profiles
// or heap snapshots). A scheduled job that needs a capture and finds the gate
// held skips its tick instead of queueing behind it, so periodic work never
// piles up on a node that is already being looked at.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

namespace sonde::schedule {

class CaptureGate {
 public:
  // Released when destroyed; movable.
  class Lease {
   public:
    Lease(Lease&& o) noexcept : gate_(o.gate_) { o.gate_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        if (gate_) gate_->release();
        gate_ = o.gate_;
        o.gate_ = nullptr;
      }
      return *this;
    }
    Lease(const Lease&) = delete;
    ~Lease() {
      if (gate_) gate_->release();
    }

   private:
    friend class CaptureGate;
    explicit Lease(CaptureGate* g) : gate_(g) {}
    CaptureGate* gate_;
  };

  // The lease, or nothing when another capture holds the gate.
  std::optional<Lease> try_acquire(const std::string& who);
  // Waits for the gate (worker threads only, never an I/O thread).
  Lease acquire(const std::string& who);
  bool busy() const;
  // Who holds it ("" when free), for logs and GET /api/scheduler.
  std::string holder() const;

 private:
  void release();
  mutable std::mutex mu_;
  std::condition_variable freed_;
  bool busy_ = false;
  std::string holder_;
};

}  // namespace sonde::schedule
