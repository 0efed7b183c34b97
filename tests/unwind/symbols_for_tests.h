// Test-only naming of unwound pcs: `nm` output of the node's files, so the
// unwinder tests do not depend on the symbolizer (written apart).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "target/maps.h"
#include "unwind/frame.h"
#include "unwind/module.h"

namespace sonde::test {

class NmTable {
 public:
  // Defined function symbols of `path` (.symtab, and .dynsym when there is no .symtab).
  explicit NmTable(const std::string& path) {
    load("nm -n --defined-only '" + path + "' 2>/dev/null");
    if (syms_.empty()) load("nm -n -D --defined-only '" + path + "' 2>/dev/null");
  }
  // The function holding link-time address vaddr ("" if none).
  std::string lookup(uint64_t vaddr) const {
    auto it = syms_.upper_bound(vaddr);
    if (it == syms_.begin()) return "";
    return std::prev(it)->second;
  }

 private:
  void load(const std::string& cmd) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return;
    char line[1024];
    while (std::fgets(line, sizeof line, p)) {
      unsigned long long addr;
      char type;
      char name[900];
      if (std::sscanf(line, "%llx %c %899s", &addr, &type, name) != 3) continue;
      if (type != 'T' && type != 't' && type != 'W' && type != 'w' && type != 'i') continue;
      std::string n = name;
      if (auto at = n.find('@'); at != std::string::npos) n.resize(at);
      syms_.emplace(addr, n);  // first name at an address wins
    }
    ::pclose(p);
  }
  std::map<uint64_t, std::string> syms_;
};

// Names each frame "basename:function" (function "" when unknown, module "?"
// when no file maps the pc). `twins` maps a file path to another file with
// the same code and more symbols (a stripped copy's unstripped original).
inline std::vector<std::string> name_frames(const std::vector<unwind::Frame>& frames, const target::Maps& maps,
                                            pid_t pid, const std::map<std::string, std::string>& twins = {}) {
  static std::map<std::string, NmTable> tables;
  std::vector<std::string> out;
  for (const auto& f : frames) {
    uint64_t pc = f.return_address ? f.pc - 1 : f.pc;
    const target::Mapping* m = maps.find(pc);
    if (!m || !m->is_file()) {
      out.push_back("?:");
      continue;
    }
    auto mod = unwind::Module::open(target::node_path(pid, m->path));
    std::optional<uint64_t> bias = mod ? (*mod)->bias_for(*m) : std::nullopt;
    std::string file = m->path;
    if (auto t = twins.find(file); t != twins.end()) file = t->second;
    auto it = tables.find(file);
    if (it == tables.end()) it = tables.emplace(file, NmTable(file)).first;
    std::string base = m->path.substr(m->path.rfind('/') + 1);
    out.push_back(base + ":" + (bias ? it->second.lookup(pc - *bias) : ""));
  }
  return out;
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : " <- ") + x;
  return s;
}

}  // namespace sonde::test
