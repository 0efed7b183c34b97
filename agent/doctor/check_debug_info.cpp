// Debug info of the node's executable (function names, file:line) and of its
// libc (glibc's malloc figures need libc's full symbol table and DWARF).
#include "doctor/checks.h"

namespace sonde::doctor {

namespace {

// Where a build-id's debug file goes: /usr/lib/debug/.build-id/xx/yyyy.debug.
std::string build_id_path(const std::string& build_id) {
  if (build_id.size() < 3) return "";
  return "/usr/lib/debug/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
}

std::string where(const NodeFacts& n, const ModuleDebug& m) {
  std::string p = build_id_path(m.build_id);
  if (p.empty()) return "a debug file (the module has no build-id)";
  return p + " (under /proc/" + std::to_string(n.pid) + "/root or the agent's /)";
}

std::string id(const ModuleDebug& m) {
  return m.path + (m.build_id.empty() ? " (no build-id)" : " (build-id " + m.build_id + ")");
}

}  // namespace

Finding check_exe_debug(const NodeFacts& n) {
  Finding f{Level::ok, "debug info: executable", "", ""};
  const ModuleDebug& m = n.exe;
  if (!n.exists) return {Level::ok, f.check, "unknown (no node)", ""};
  if (!m.error.empty()) return {Level::warn, f.check, "cannot read the executable: " + m.error, "see the lines above"};
  if (!m.debug_file.empty()) {
    f.finding = id(m) + ": symbols and " + (m.debug_file_dwarf ? "file:line" : "no file:line") + " from " + m.debug_file;
  } else if (m.has_symtab) {
    f.finding = id(m) + ": full symbol table" + (m.has_dwarf ? " and file:line" : " (no DWARF: no file:line)");
  } else {
    f.level = Level::warn;
    f.finding = id(m) + " is stripped: only its exported functions get names";
    f.fix = "install its debug package (Debian: the -dbgsym package of the node's package, from the "
            "debian-debug archive) so that " + where(n, m) + " exists, or ship the binary unstripped";
  }
  return f;
}

Finding check_libc_debug(const NodeFacts& n) {
  Finding f{Level::ok, "debug info: libc", "", ""};
  const ModuleDebug& m = n.libc;
  if (!n.exists) return {Level::ok, f.check, "unknown (no node)", ""};
  if (m.path.empty() && !m.error.empty()) return {Level::warn, f.check, m.error, "see the lines above"};
  if (m.path.empty()) return {Level::ok, f.check, "the node maps no glibc (static, or another C library)", ""};
  if (!m.error.empty()) return {Level::warn, f.check, "cannot read " + m.path + ": " + m.error, "see the lines above"};
  bool full = (!m.debug_file.empty() && m.debug_file_dwarf) || (m.has_symtab && m.has_dwarf);
  if (full) {
    f.finding = id(m) + ": debug info in " + (m.debug_file.empty() ? m.path : m.debug_file) +
                " (glibc malloc figures and libc file:line work)";
    return f;
  }
  f.level = Level::warn;
  f.finding = id(m) + " has no debug info: no glibc malloc walk (heap figures from /proc only), libc frames "
              "named from .dynsym";
  f.fix = "install libc6-dbg (Debian, Ubuntu; of the node's libc version: in the node's image, or on the host "
          "when both run the same libc) so that " + where(n, m) +
          " exists; Fedora/RHEL: `debuginfo-install glibc`";
  return f;
}

}  // namespace sonde::doctor
