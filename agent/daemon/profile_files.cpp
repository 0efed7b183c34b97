#include "daemon/profile_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace sonde::daemon {

namespace fs = std::filesystem;

namespace {
bool is_profile_file(const std::string& name) {
  for (const char* ext : kProfileExtensions) {
    std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}
}  // namespace

bool valid_profile_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::vector<ProfileFile> list_profile_files(const std::string& dir) {
  std::vector<ProfileFile> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (!is_profile_file(name) || !e.is_regular_file(ec)) continue;
    struct stat st{};
    if (::stat(e.path().c_str(), &st) != 0) continue;
    out.push_back({name, uint64_t(st.st_size), double(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9});
  }
  std::sort(out.begin(), out.end(), [](const ProfileFile& a, const ProfileFile& b) {
    return a.time != b.time ? a.time < b.time : a.name < b.name;
  });
  return out;
}

Result<std::string> profile_file_path(const std::string& dir, const std::string& file) {
  if (file.empty() || file.find('/') != std::string::npos || file.find("..") != std::string::npos)
    return fail(ErrorCode::bad_request, "a profile file name has no \"/\" or \"..\"; see GET /api/profiles");
  if (!is_profile_file(file))
    return fail(ErrorCode::bad_request, "only .pstat and .calltree files are served here; see GET /api/profiles");
  std::string path = dir + "/" + file;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return fail(ErrorCode::not_found, "no profile file " + file + "; see GET /api/profiles");
  return path;
}

Result<void> write_file_atomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) return fail(ErrorCode::io, "cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return fail(ErrorCode::io, "cannot rename " + tmp + ": " + ec.message());
  return {};
}

void prune_profile_files(const std::string& dir, size_t keep) {
  auto files = list_profile_files(dir);
  std::error_code ec;
  for (size_t i = 0; i + keep < files.size(); ++i) fs::remove(dir + "/" + files[i].name, ec);
}

}  // namespace sonde::daemon
