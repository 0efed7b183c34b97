#include "incident/bundle_writer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "protocol/iso_time.h"

namespace sonde::incident {

namespace fs = std::filesystem;

std::string new_bundle_id(const std::string& incidents_dir, double epoch) {
  std::string base = protocol::compact_utc(epoch);
  std::string id = base;
  std::error_code ec;
  for (int n = 2; fs::exists(incidents_dir + "/" + id, ec) && n < 1000; ++n) id = base + "-" + std::to_string(n);
  return id;
}

namespace {

std::string readme(const BundleReport& r, double epoch, const std::string& reason,
                   const std::map<std::string, std::string>& what, const std::string& dir) {
  std::string out;
  out += "sonde incident bundle " + r.id + "\n";
  out += "written " + protocol::iso_utc(epoch) + " because the node's health check turned unhealthy (" + reason + ")\n\n";
  out += "files:\n";
  for (const auto& f : r.written) {
    std::error_code ec;
    auto size = fs::file_size(dir + "/" + f, ec);
    auto it = what.find(f);
    out += fmt::format("  {:<16} {:>10} bytes  {}\n", f, ec ? 0 : size, it == what.end() ? "" : it->second);
  }
  if (!r.skipped.empty()) {
    out += "\nskipped:\n";
    for (const auto& [f, why] : r.skipped) out += fmt::format("  {:<16} {}\n", f, why);
  }
  return out;
}

}  // namespace

Result<BundleReport> write_bundle(const std::string& incidents_dir, const std::string& id, double epoch,
                                  const std::string& reason, const std::vector<BundlePart>& parts,
                                  const std::function<void(uint64_t bytes)>& before_publish) {
  BundleReport report;
  report.id = id;
  report.dir = incidents_dir + "/" + id;
  std::string tmp = incidents_dir + "/" + kPartialPrefix + id;
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return fail(ErrorCode::io, "cannot create " + tmp + ": " + ec.message());

  std::map<std::string, std::string> why_missing;  // file -> reason, from failed parts
  for (const auto& part : parts) {
    auto t0 = std::chrono::steady_clock::now();
    Result<void> r = fail(ErrorCode::internal, "no writer");
    try {
      r = part.write ? part.write(tmp) : r;
    } catch (const std::exception& e) {
      r = fail(ErrorCode::internal, std::string("threw: ") + e.what());
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r) {
      spdlog::debug("incident {}: part {} written in {:.1f} ms", id, part.name, ms);
    } else {
      spdlog::warn("incident {}: part {} failed: {}", id, part.name, r.error().message);
      for (const auto& f : part.files) why_missing[f] = "the " + part.name + " part failed: " + r.error().message;
    }
  }

  // What is really there (a failed part may have written some of its files).
  for (const auto& e : fs::directory_iterator(tmp, ec))
    if (e.is_regular_file()) report.written.push_back(e.path().filename().string());
  std::sort(report.written.begin(), report.written.end());
  std::map<std::string, std::string> what;
  for (const auto& [f, desc] : expected_files()) {
    what[f] = desc;
    if (std::find(report.written.begin(), report.written.end(), f) != report.written.end()) continue;
    auto it = why_missing.find(f);
    report.skipped.emplace_back(f, it != why_missing.end()
                                       ? it->second
                                       : "not available yet: no feature of this agent writes it into bundles");
  }
  for (const auto& [f, why] : why_missing)
    if (!what.count(f) && std::find(report.written.begin(), report.written.end(), f) == report.written.end())
      report.skipped.emplace_back(f, why);

  {
    std::ofstream out(tmp + "/README.txt", std::ios::binary | std::ios::trunc);
    out << readme(report, epoch, reason, what, tmp);
    if (!out) return fail(ErrorCode::io, "cannot write " + tmp + "/README.txt (disk full?)");
  }
  report.written.insert(report.written.begin(), "README.txt");
  if (before_publish) {
    uint64_t bytes = 0;
    for (const auto& f : report.written) bytes += fs::file_size(tmp + "/" + f, ec);
    before_publish(bytes);
  }
  fs::rename(tmp, report.dir, ec);
  if (ec) return fail(ErrorCode::io, "cannot rename " + tmp + " to " + report.dir + ": " + ec.message());
  return report;
}

}  // namespace sonde::incident
