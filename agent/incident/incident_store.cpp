#include "incident/incident_store.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>

namespace sonde::incident {

namespace fs = std::filesystem;

bool valid_bundle_id(const std::string& id) {
  // 20261128T100000Z = 16 characters.
  if (id.size() < 16) return false;
  for (size_t i = 0; i < 16; ++i) {
    char c = id[i];
    bool want_digit = i != 8 && i != 15;
    if (want_digit ? !std::isdigit(static_cast<unsigned char>(c)) : c != (i == 8 ? 'T' : 'Z')) return false;
  }
  if (id.size() == 16) return true;
  if (id[16] != '-' || id.size() == 17 || id.size() > 20) return false;
  return std::all_of(id.begin() + 17, id.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

double bundle_time(const std::string& id) {
  if (!valid_bundle_id(id)) return 0;
  std::tm tm{};
  auto num = [&](size_t at, size_t n) { return std::stoi(id.substr(at, n)); };
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  return static_cast<double>(::timegm(&tm));
}

bool valid_file_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

namespace {
BundleListing listing(const fs::path& dir) {
  BundleListing b;
  b.id = dir.filename().string();
  b.time = bundle_time(b.id);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    // Only plain files count: a symlink planted in a bundle is never followed.
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    BundleFile f{e.path().filename().string(), static_cast<uint64_t>(e.file_size(ec))};
    b.bytes += f.bytes;
    b.files.push_back(std::move(f));
  }
  std::sort(b.files.begin(), b.files.end(), [](const BundleFile& x, const BundleFile& y) { return x.name < y.name; });
  return b;
}
}  // namespace

std::vector<BundleListing> list_bundles(const std::string& incidents_dir) {
  std::vector<BundleListing> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(incidents_dir, ec)) {
    if (!e.is_directory(ec) || e.is_symlink(ec) || !valid_bundle_id(e.path().filename().string())) continue;
    out.push_back(listing(e.path()));
  }
  // Same-second bundles: "-2" after the bare id, "-10" after "-9".
  std::sort(out.begin(), out.end(), [](const BundleListing& a, const BundleListing& b) {
    if (a.id.compare(0, 16, b.id, 0, 16) != 0) return a.id < b.id;
    if (a.id.size() != b.id.size()) return a.id.size() < b.id.size();
    return a.id < b.id;
  });
  return out;
}

Result<BundleListing> find_bundle(const std::string& incidents_dir, const std::string& id) {
  if (!valid_bundle_id(id))
    return fail(ErrorCode::bad_request, "\"" + id + "\" is not an incident id (YYYYmmddTHHMMSSZ); see GET /api/incidents");
  fs::path dir = fs::path(incidents_dir) / id;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec)))
    return fail(ErrorCode::not_found, "no incident " + id + "; see GET /api/incidents");
  return listing(dir);
}

Result<std::string> bundle_file_path(const std::string& incidents_dir, const std::string& id, const std::string& file) {
  auto bundle = find_bundle(incidents_dir, id);
  if (!bundle) return std::unexpected(bundle.error());
  if (!valid_file_name(file))
    return fail(ErrorCode::bad_request, "\"" + file + "\" is not a file name of a bundle");
  // Only what the listing has: a regular file directly in the bundle.
  for (const auto& f : bundle->files)
    if (f.name == file) return (fs::path(incidents_dir) / id / file).string();
  return fail(ErrorCode::not_found, "incident " + id + " has no file " + file);
}

}  // namespace sonde::incident
