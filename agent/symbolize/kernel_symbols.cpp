#include "symbolize/kernel_symbols.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace sonde::symbolize {

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

}  // namespace

KernelSymbols::KernelSymbols(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return;
  char line[512];
  bool any = false, all_zero = true;
  while (std::fgets(line, sizeof line, f)) {
    // "ffffffff816d5370 T vfs_read" or "... t nft_do_chain\t[nf_tables]"
    unsigned long long addr = 0;
    char type = 0;
    char name[256], module[128];
    module[0] = 0;
    int n = std::sscanf(line, "%llx %c %255s [%127[^]]", &addr, &type, name, module);
    if (n < 3) continue;
    any = true;
    if (addr != 0) all_zero = false;
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    symbols_.push_back(Symbol{addr, name, n == 4 ? module : ""});
  }
  std::fclose(f);
  if (any && all_zero) {
    hidden_ = true;
    symbols_.clear();
    return;
  }
  // stable: of several names at one address, the first listed is kept first.
  std::stable_sort(symbols_.begin(), symbols_.end(),
                   [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
}

std::optional<KernelSymbols::Hit> KernelSymbols::lookup(uint64_t addr) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), addr,
                             [](uint64_t a, const Symbol& s) { return a < s.address; });
  if (it == symbols_.begin()) return std::nullopt;
  --it;
  // Step back to the first name at that address (aliases sort together).
  while (it != symbols_.begin() && std::prev(it)->address == it->address) --it;
  return Hit{&*it, addr - it->address};
}

std::string KernelSymbols::name(uint64_t addr) const {
  if (hidden_) return hex(addr) + " (kernel symbols hidden)";
  auto hit = lookup(addr);
  if (!hit) return hex(addr);
  std::string s = hit->symbol->name + "+" + hex(hit->offset);
  if (!hit->symbol->module.empty()) s += " [" + hit->symbol->module + "]";
  return s;
}

}  // namespace sonde::symbolize
