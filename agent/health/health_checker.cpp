#include "health/health_checker.h"

#include <spdlog/spdlog.h>

#include "log/logging.h"
#include "protocol/iso_time.h"

namespace sonde::health {

namespace {
constexpr const char* kLogger = "node_health";
}

HealthChecker::HealthChecker(boost::asio::io_context& io, HealthOptions opts, std::function<bool()> attached)
    : io_(io), opts_(std::move(opts)), attached_(std::move(attached)), state_(opts_.failures) {
  // Size-rotated like the agent's other logs; absent when there is no logs folder.
  log::add_file_logger(kLogger, "node_health.log");
}

void HealthChecker::check(std::function<void(Result<void>)> done) {
  CheckResult r;
  r.time = protocol::now_epoch();
  {
    std::lock_guard lock(mu_);
    if (stopped_) return done(fail(ErrorCode::internal, "the health checker is stopped"));
  }
  if (!attached_()) {
    r.kind = CheckResult::Kind::detached;
    record(r);
    return done({});
  }
  auto handle = start_probe(io_, opts_.target, opts_.timeout, [this, r, done](ProbeOutcome o) mutable {
    r.latency_ms = o.latency_ms;
    r.status = o.status;
    r.failure = o.failure;
    r.detail = o.detail;
    r.kind = o.status >= 200 && o.status < 300 ? CheckResult::Kind::ok : CheckResult::Kind::fail;
    {
      std::lock_guard lock(mu_);
      in_flight_.reset();
    }
    // A probe cut short by shutdown says nothing about the node: no line.
    if (o.failure == "cancelled") return done(fail(ErrorCode::internal, "cancelled"));
    record(r);
    done({});
  });
  std::lock_guard lock(mu_);
  // The probe may have finished already (a refused connect is quick); then nothing is in flight.
  if (!stopped_) in_flight_ = handle;
}

void HealthChecker::stop() {
  std::shared_ptr<ProbeHandle> p;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    p = std::move(in_flight_);
  }
  if (p) p->cancel();
}

void HealthChecker::record(const CheckResult& r) {
  std::string line = health_line(r);
  Transition t;
  {
    std::lock_guard lock(mu_);
    t = state_.record(r);
    recent_.push_back(line);
    while (recent_.size() > opts_.recent_lines) recent_.pop_front();
  }
  if (auto l = spdlog::get(kLogger)) l->info("{}", line);
  if (t == Transition::became_unhealthy) {
    spdlog::warn("node health: unhealthy ({}) at {}", r.result_text(), opts_.target.url);
    if (on_unhealthy) on_unhealthy(r);
  } else if (t == Transition::recovered) {
    spdlog::info("node health: healthy again ({}) at {}", r.result_text(), opts_.target.url);
  }
}

protocol::HealthSummary HealthChecker::summary() const {
  std::lock_guard lock(mu_);
  auto s = state_.summary();
  s.url = opts_.target.url;
  return s;
}

std::vector<std::string> HealthChecker::recent_lines() const {
  std::lock_guard lock(mu_);
  return {recent_.begin(), recent_.end()};
}

}  // namespace sonde::health
