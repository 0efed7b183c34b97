#include "symbolize/symbol_table.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <tuple>

#include "symbolize/elf_file.h"

namespace sonde::symbolize {

namespace {

struct Raw {
  uint64_t start, size, section_end;
  std::string_view name;
  int binding;
};

// Among aliases at one address, the name people know: exported before
// local, fewer leading underscores (glibc's "nanosleep" over "__nanosleep"
// and "__GI___nanosleep"), global before weak, then the shorter name.
auto alias_rank(const Raw& r) {
  size_t underscores = r.name.find_first_not_of('_');
  if (underscores == std::string_view::npos) underscores = r.name.size();
  return std::make_tuple(r.binding == STB_LOCAL, underscores, r.binding != STB_GLOBAL,
                         r.name.size(), r.name);
}

}  // namespace

SymbolTable SymbolTable::from_elf(const ElfFile& file) {
  SymbolTable table;
  if (file.has_symtab()) {
    table.add_section(file, SHT_SYMTAB);
    table.source_ = SymbolSource::symtab;
  } else if (file.has_dynsym()) {
    table.add_section(file, SHT_DYNSYM);
    table.source_ = SymbolSource::dynsym;
  }
  table.finish();
  return table;
}

void SymbolTable::add_section(const ElfFile& file, int section_type) {
  Elf* elf = file.elf();
  // Section ends bound symbols of size 0; indexed by section number.
  std::vector<uint64_t> section_end;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    size_t index = elf_ndxscn(scn);
    if (section_end.size() <= index) section_end.resize(index + 1, 0);
    if (gelf_getshdr(scn, &sh) != nullptr) section_end[index] = sh.sh_addr + sh.sh_size;
  }

  std::vector<Raw> raw;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || static_cast<int>(sh.sh_type) != section_type) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || sh.sh_entsize == 0) continue;
    size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      int type = GELF_ST_TYPE(sym.st_info);
      if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE || sym.st_value == 0) continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (name == nullptr || *name == '\0') continue;
      std::string_view n(name);
      // .symtab of a debug file spells versioned symbols "name@@GLIBC_2.3.2".
      if (auto at = n.find('@'); at != std::string_view::npos && at > 0) n = n.substr(0, at);
      uint64_t end = sym.st_shndx < section_end.size() ? section_end[sym.st_shndx] : 0;
      raw.push_back({sym.st_value, sym.st_size, end, n, GELF_ST_BIND(sym.st_info)});
    }
  }

  std::sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) {
    if (a.start != b.start) return a.start < b.start;
    return alias_rank(a) < alias_rank(b);
  });

  for (size_t i = 0; i < raw.size();) {
    // raw[i] is the best alias at its address; aliases may disagree on the
    // size (an asm entry of size 0 next to its C alias): take the largest.
    size_t j = i;
    uint64_t size = 0, section_end_at = raw[i].section_end;
    while (j < raw.size() && raw[j].start == raw[i].start) size = std::max(size, raw[j++].size);
    Entry e{};
    e.start = raw[i].start;
    e.size = size;
    e.end = size > 0 ? e.start + size : section_end_at;  // size 0: bounded in finish()
    e.name_at = static_cast<uint32_t>(names_.size());
    e.name_len = static_cast<uint32_t>(raw[i].name.size());
    names_.append(raw[i].name);
    entries_.push_back(e);
    i = j;
  }
}

void SymbolTable::finish() {
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.size == 0) {
      uint64_t next = i + 1 < entries_.size() ? entries_[i + 1].start : e.end;
      if (e.end == 0 || next < e.end) e.end = next;
      if (e.end <= e.start) e.end = e.start + 1;
    }
    max_extent_ = std::max(max_extent_, e.end - e.start);
  }
}

bool SymbolTable::lookup(uint64_t vaddr, SymbolHit* hit) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), vaddr,
                             [](uint64_t a, const Entry& e) { return a < e.start; });
  // Walk back past nested symbols (a local label inside a larger function)
  // until none could reach this far (bounded: nesting is shallow in practice).
  for (int steps = 0; it != entries_.begin() && steps < 64; ++steps) {
    --it;
    if (vaddr - it->start >= max_extent_) break;
    if (vaddr < it->end) {
      hit->name = std::string_view(names_).substr(it->name_at, it->name_len);
      hit->start = it->start;
      hit->size = it->size;
      return true;
    }
  }
  return false;
}

}  // namespace sonde::symbolize
