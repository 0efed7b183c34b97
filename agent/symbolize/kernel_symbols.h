// Kernel addresses (the kernel stacks of eBPF samples) to names, from
// /proc/kallsyms: read once, sorted, then looked up by binary search.
//
// /proc/kallsyms shows real addresses only to root (CAP_SYSLOG) under
// kernel.kptr_restrict=1, and to nobody under 2; otherwise every address
// reads as 0. Then hidden() is true and name() says so rather than naming
// every frame after the first symbol.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sonde::symbolize {

class KernelSymbols {
 public:
  struct Symbol {
    uint64_t address = 0;
    std::string name;
    std::string module;  // "" for the kernel image, else the module's name
  };
  struct Hit {
    const Symbol* symbol = nullptr;
    uint64_t offset = 0;
  };

  // Reads the function symbols (types t, T, w, W) of `path`. A file that
  // cannot be read gives an empty table (every lookup unknown).
  explicit KernelSymbols(const std::string& path = "/proc/kallsyms");

  bool hidden() const { return hidden_; }
  size_t size() const { return symbols_.size(); }

  // The function holding addr and addr's offset in it; nullopt below the
  // first symbol or when the symbols are hidden.
  std::optional<Hit> lookup(uint64_t addr) const;

  // "vfs_read+0x1a", "nf_hook_slow+0x40 [nf_tables]", "0xffffffff8123abcd"
  // when unknown, "0xffffffff8123abcd (kernel symbols hidden)" when hidden.
  std::string name(uint64_t addr) const;

 private:
  std::vector<Symbol> symbols_;  // sorted by address
  bool hidden_ = false;
};

}  // namespace sonde::symbolize
