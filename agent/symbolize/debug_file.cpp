#include "symbolize/debug_file.h"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "target/maps.h"

namespace sonde::symbolize {

namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// The node-side paths to try, in order (see the header).
std::vector<std::string> candidates(const ElfFile& module, const std::string& module_path,
                                    const std::vector<std::string>& debug_dirs) {
  std::vector<std::string> out;
  const std::string& id = module.build_id();
  if (id.size() > 2)
    for (const auto& d : debug_dirs)
      out.push_back(d + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug");
  const std::string dir = dir_of(module_path);
  if (!module.debuglink().empty()) {
    const std::string& link = module.debuglink();
    out.push_back(dir + "/" + link);
    out.push_back(dir + "/.debug/" + link);
    for (const auto& d : debug_dirs) out.push_back(d + dir + "/" + link);
  }
  for (const auto& d : debug_dirs) {
    out.push_back(d + module_path);
    out.push_back(d + module_path + ".debug");
  }
  return out;
}

// Does `debug` provably describe `module`?
bool belongs_to(const ElfFile& debug, const ElfFile& module) {
  if (debug.identity() == module.identity()) return false;  // the module itself
  if (!debug.has_symtab() && !debug.has_debug_info()) return false;
  if (!module.build_id().empty()) return debug.build_id() == module.build_id();
  if (module.debuglink().empty()) return false;  // nothing to check against
  auto crc = file_crc32(debug.fd());
  return crc && *crc == module.debuglink_crc();
}

}  // namespace

std::vector<std::string> default_debug_dirs() { return {"/usr/lib/debug"}; }

Result<uint32_t> file_crc32(int fd) {
  uLong crc = crc32(0L, Z_NULL, 0);
  char buf[1 << 16];
  off_t at = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::io, std::string("cannot read debug file: ") + std::strerror(errno));
    }
    if (n == 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf), static_cast<uInt>(n));
    at += n;
  }
  return static_cast<uint32_t>(crc);
}

Result<std::unique_ptr<ElfFile>> find_debug_file(const DebugFileQuery& query,
                                                 const std::vector<std::string>& debug_dirs) {
  if (query.module == nullptr) return fail(ErrorCode::internal, "find_debug_file without a module");
  std::vector<std::string> roots;
  if (query.pid > 0) roots.push_back(target::node_path(query.pid, ""));
  roots.push_back("");  // the agent's own root
  for (const auto& path : candidates(*query.module, query.module_path, debug_dirs)) {
    for (const auto& root : roots) {
      auto file = ElfFile::open(root + path);
      if (!file) continue;
      if (belongs_to(**file, *query.module)) return std::move(*file);
    }
  }
  return fail(ErrorCode::not_found, "no debug file for " + query.module_path +
                                        (query.module->build_id().empty()
                                             ? std::string()
                                             : " (build-id " + query.module->build_id() + ")"));
}

}  // namespace sonde::symbolize
