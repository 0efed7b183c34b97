#include "proxy/job_profiles.h"

#include <spdlog/spdlog.h>

#include <regex>

#include "client/http_client.h"
#include "daemon/profile_files.h"
#include "protocol/iso_time.h"
#include "render/profile_renderer.h"

namespace sonde::proxy {

JobProfiles::~JobProfiles() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  for (auto& j : jobs_) j.thread.join();
}

size_t JobProfiles::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

Result<std::string> JobProfiles::start(const std::string& id, const target::NodeId& node) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return fail(ErrorCode::no_node, "the agent is stopping");
    if (running_ >= kMaxJobs)
      return fail(ErrorCode::conflict, std::to_string(kMaxJobs) + " job profiles run already; wait for one to end");
    ++running_;
  }
  auto window = sampler_.open(node);
  if (!window) {
    std::lock_guard lock(mu_);
    --running_;
    return std::unexpected(window.error());
  }
  std::string stem = id + "-" + protocol::compact_utc(protocol::now_epoch());
  std::lock_guard lock(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (!*it->done) {
      ++it;
      continue;
    }
    it->thread.join();
    it = jobs_.erase(it);
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  jobs_.push_back({std::thread([this, id, stem, w = *window, done] {
                     run(id, stem, w);
                     *done = true;
                   }),
                   done});
  return stem;
}

bool JobProfiles::job_done(const std::string& id) const {
  std::string url = opt_.status_url;
  for (auto at = url.find("{id}"); at != std::string::npos; at = url.find("{id}", at + id.size()))
    url.replace(at, 4, id);
  auto ep = client::parse_url(url);
  if (!ep) return false;
  // The path of the URL is the endpoint's base path.
  std::string target = ep->base_path.empty() ? "/" : ep->base_path;
  ep->base_path.clear();
  auto r = client::request(*ep, "GET", target, "", {}, std::chrono::seconds(5));
  if (!r) return false;  // the node is busy or restarting: keep profiling until the time is up
  try {
    return !std::regex_search(r->body, std::regex(opt_.running_pattern));
  } catch (const std::regex_error&) {
    return false;
  }
}

void JobProfiles::run(const std::string& id, const std::string& stem, const CallSampler::WindowPtr& window) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(opt_.seconds));
  bool early = false;
  for (;;) {
    std::unique_lock lock(mu_);
    auto next = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    if (stop_cv_.wait_until(lock, next, [&] { return stopping_; })) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    lock.unlock();
    if (!opt_.status_url.empty() && job_done(id)) {
      early = true;
      break;
    }
  }
  auto profile = sampler_.close(window);
  profile.info.notes.emplace_back("job", id);
  if (early) profile.info.notes.emplace_back("ended", "the status URL said the job is done");
  for (auto [fmt, ext] : {std::pair{"pstats", ".pstat"}, std::pair{"calltree", ".calltree"}}) {
    auto r = daemon::write_file_atomic(opt_.logs + "/" + stem + ext, render::profile_renderer(fmt)->render(profile));
    if (!r) spdlog::warn("job profile {}: {}", stem, r.error().message);
  }
  daemon::prune_profile_files(opt_.logs);
  spdlog::info("job profile: wrote {}/{}.pstat and .calltree ({} samples in {:.1f} s)", opt_.logs, stem,
               profile.info.samples, profile.info.duration_s);
  std::lock_guard lock(mu_);
  --running_;
}

}  // namespace sonde::proxy
