#include "log/rotated_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sonde::log {

Result<void> write_rotated(const std::string& path, const std::string& content, int keep) {
  namespace fs = std::filesystem;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return fail(ErrorCode::io, "cannot write " + tmp + " (disk full or read-only?)");
    }
  }
  std::error_code ec;
  fs::remove(path + "." + std::to_string(keep), ec);
  for (int i = keep - 1; i >= 1; --i) {
    std::string from = path + "." + std::to_string(i);
    if (fs::exists(from, ec)) fs::rename(from, path + "." + std::to_string(i + 1), ec);
  }
  if (fs::exists(path, ec)) fs::rename(path, path + ".1", ec);
  fs::rename(tmp, path, ec);
  if (ec) return fail(ErrorCode::io, "cannot rename " + tmp + " to " + path + ": " + ec.message());
  return {};
}

}  // namespace sonde::log
