// The function symbols of one ELF file, sorted by address for binary search.
//
// Built once per module from .symtab (or .dynsym when the file has no
// .symtab) and then only read, so lookups need no lock. Names are copied into
// one pool: the table does not depend on the ELF staying mapped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::symbolize {

class ElfFile;

enum class SymbolSource { none, symtab, dynsym };

struct SymbolHit {
  std::string_view name;  // raw (mangled) name, without an "@VERSION" suffix
  uint64_t start = 0;     // link-time address of the symbol
  uint64_t size = 0;
};

class SymbolTable {
 public:
  SymbolTable() = default;
  // Reads .symtab when present, else .dynsym; `source()` tells which.
  static SymbolTable from_elf(const ElfFile& file);

  // The function whose [start, start+size) holds `vaddr`. Symbols of size 0
  // (hand-written assembly) cover up to the next symbol but never past the
  // end of their section: beyond that we say "unknown" rather than guess.
  bool lookup(uint64_t vaddr, SymbolHit* hit) const;

  SymbolSource source() const { return source_; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t start, end;  // end exclusive, already resolved for size-0 symbols
    uint32_t name_at, name_len;
    uint64_t size;
  };
  void add_section(const ElfFile& file, int section_type);
  void finish();

  std::vector<Entry> entries_;  // sorted by start, one per address (best alias kept)
  std::string names_;
  SymbolSource source_ = SymbolSource::none;
  // Longest symbol: how far back a lookup must look for one that encloses
  // an address past a smaller, nested symbol.
  uint64_t max_extent_ = 0;
};

}  // namespace sonde::symbolize
