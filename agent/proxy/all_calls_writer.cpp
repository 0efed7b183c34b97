#include "proxy/all_calls_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "daemon/profile_files.h"
#include "render/profile_renderer.h"

namespace sonde::proxy {

namespace fs = std::filesystem;

namespace {
constexpr size_t kMaxPending = 16;  // profiles waiting for the disk; more calls are skipped
}

AllCallsWriter::AllCallsWriter(std::string dir, double rate, uint64_t keep, uint64_t max_bytes)
    : dir_(std::move(dir)), rate_(rate), keep_(keep), max_bytes_(max_bytes) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) spdlog::error("--enable-api-profiler: cannot create {}: {}", dir_, ec.message());
  // What an earlier run left counts against the same bounds.
  for (const auto& f : daemon::list_profile_files(dir_)) files_.push_back({f.name, f.size});
  std::sort(files_.begin(), files_.end(), [](const File& a, const File& b) { return a.name < b.name; });
  for (const auto& f : files_) bytes_ += f.size;
  std::lock_guard lock(mu_);
  prune_locked();
}

bool AllCallsWriter::take_this_call() {
  std::lock_guard lock(mu_);
  credit_ += rate_;
  if (credit_ < 1) return false;
  credit_ -= 1;
  if (pending_ >= kMaxPending) {
    ++skipped_;
    return false;
  }
  ++pending_;
  return true;
}

void AllCallsWriter::release() {
  std::lock_guard lock(mu_);
  --pending_;
}

void AllCallsWriter::write(aggregate::Profile profile, const CallRecord& call) {
  write_now(profile, call);
  std::lock_guard lock(mu_);
  --pending_;
}

void AllCallsWriter::write_now(aggregate::Profile& profile, const CallRecord& call) {
  annotate(profile, call);
  std::string stem = call_stem(call);
  std::error_code ec;
  // Two calls of one route in the same millisecond: the second gets a suffix.
  for (int n = 2; fs::exists(dir_ + "/" + stem + ".pstat", ec) && n < 1000; ++n)
    stem = call_stem(call) + "-" + std::to_string(n);
  std::vector<File> made;
  for (auto [fmt, ext] : {std::pair{"pstats", ".pstat"}, std::pair{"calltree", ".calltree"}}) {
    std::string data = render::profile_renderer(fmt)->render(profile);
    std::string name = stem + ext;
    if (auto r = daemon::write_file_atomic(dir_ + "/" + name, data); !r) {
      spdlog::warn("api profiler: {}", r.error().message);
      continue;
    }
    made.push_back({name, data.size()});
  }
  std::lock_guard lock(mu_);
  for (auto& f : made) {
    bytes_ += f.size;
    files_.push_back(std::move(f));
  }
  ++written_;
  prune_locked();
  if (written_ % 10 == 0)
    spdlog::info("api profiler: {} calls profiled so far into {} ({} skipped: the disk fell behind)", written_, dir_,
                 skipped_);
}

void AllCallsWriter::prune_locked() {
  std::error_code ec;
  while (!files_.empty() && (files_.size() > keep_ || bytes_ > max_bytes_)) {
    fs::remove(dir_ + "/" + files_.front().name, ec);
    bytes_ -= std::min(bytes_, files_.front().size);
    files_.pop_front();
  }
}

uint64_t AllCallsWriter::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

uint64_t AllCallsWriter::skipped() const {
  std::lock_guard lock(mu_);
  return skipped_;
}

}  // namespace sonde::proxy
