#include "incident/incidents.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <filesystem>

#include "incident/bundle_writer.h"
#include "incident/retention.h"
#include "protocol/iso_time.h"

namespace sonde::incident {

Incidents::Incidents(IncidentOptions opts, boost::asio::thread_pool& workers, schedule::CaptureGate& gate)
    : opts_(std::move(opts)), workers_(workers), gate_(gate) {
  remove_partials(opts_.dir);
}

bool Incidents::trigger(const std::string& reason) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto cooldown = std::chrono::duration<double>(opts_.cooldown_seconds);
    if (last_ && now - *last_ < cooldown) {
      ++suppressed_;
      spdlog::info("node unhealthy ({}): no incident bundle, the last one is less than {:g} s old", reason,
                   opts_.cooldown_seconds);
      return false;
    }
    // The cool-down counts from the start of a bundle, so a slow one cannot let two overlap.
    last_ = now;
  }
  double epoch = protocol::now_epoch();
  boost::asio::post(workers_, [this, reason, epoch] { write(reason, epoch); });
  return true;
}

void Incidents::write(const std::string& reason, double epoch) {
  std::error_code ec;
  std::filesystem::create_directories(opts_.dir, ec);
  if (ec) {
    spdlog::error("incident: cannot create {}: {}", opts_.dir, ec.message());
    return;
  }
  // Scheduled captures skip their ticks while the bundle's stacks are taken.
  auto lease = gate_.acquire("incident");
  auto t0 = std::chrono::steady_clock::now();
  std::string id = new_bundle_id(opts_.dir, epoch);
  auto r = write_bundle(opts_.dir, id, epoch, reason, parts_.all(),
                       [this](uint64_t bytes) { prune(opts_.dir, opts_.keep, opts_.max_bytes, bytes); });
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!r) {
    spdlog::error("incident {}: {}", id, r.error().message);
    return;
  }
  ++written_;
  spdlog::warn("incident bundle {} written in {:.0f} ms ({} files, {} skipped)", r->dir, ms, r->written.size(),
               r->skipped.size());
}

}  // namespace sonde::incident
