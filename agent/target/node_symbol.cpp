#include "target/node_symbol.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <set>

namespace sonde::target {

namespace {

// One ELF file opened read-only for the duration of a lookup.
struct OpenElf {
  int fd = -1;
  Elf* elf = nullptr;
  explicit OpenElf(const std::string& path) {
    elf_version(EV_CURRENT);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  }
  ~OpenElf() {
    if (elf) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }
  OpenElf(const OpenElf&) = delete;
  OpenElf& operator=(const OpenElf&) = delete;
};

// Link-time value of defined function `name` in symbol tables of type `type`.
std::optional<uint64_t> symbol_value(Elf* elf, uint32_t type, const std::string& name) {
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0 || GELF_ST_TYPE(sym.st_info) != STT_FUNC) continue;
      const char* s = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (s && name == s) return sym.st_value;
    }
  }
  return std::nullopt;
}

// Node address of link-time address `vaddr` of the file mapped by `m`:
// bias = m.start - (p_vaddr + m.offset - p_offset) of the PT_LOAD holding m.offset.
std::optional<uint64_t> node_address(Elf* elf, const Mapping& m, uint64_t vaddr) {
  size_t n = 0;
  if (elf_getphdrnum(elf, &n) != 0) return std::nullopt;
  for (size_t i = 0; i < n; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
    if (m.offset < ph.p_offset || m.offset >= ph.p_offset + ph.p_filesz) continue;
    uint64_t link_start = ph.p_vaddr + (m.offset - ph.p_offset);
    return vaddr - link_start + m.start;
  }
  return std::nullopt;
}

// First mapping (lowest address) of each distinct file whose path contains `part`.
std::vector<const Mapping*> files_matching(const Maps& maps, const std::string& part) {
  std::vector<const Mapping*> out;
  std::set<std::string> seen;
  for (const auto& m : maps.mappings)
    if (m.is_file() && m.path.find(part) != std::string::npos && seen.insert(m.path).second) out.push_back(&m);
  return out;
}

bool is_libc(const std::string& path) {
  auto slash = path.rfind('/');
  std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  return base.rfind("libc.so", 0) == 0 || base.rfind("libc-2.", 0) == 0;
}

}  // namespace

Result<NodeSymbol> find_node_function(pid_t pid, const Maps& maps, const std::string& name,
                                      const std::string& module_part) {
  std::string searched;
  for (const Mapping* m : files_matching(maps, module_part)) {
    OpenElf f(node_path(pid, m->path));
    if (!f.elf) continue;
    auto v = symbol_value(f.elf, SHT_DYNSYM, name);
    if (!v) v = symbol_value(f.elf, SHT_SYMTAB, name);
    if (searched.size() < 400) searched += (searched.empty() ? "" : ", ") + m->path;
    if (!v) continue;
    auto addr = node_address(f.elf, *m, *v);
    if (!addr) continue;
    return NodeSymbol{*addr, m->path};
  }
  return fail(ErrorCode::not_found, "function " + name + " not found in the node (searched: " +
                                        (searched.empty() ? std::string("no matching file") : searched) + ")");
}

Result<NodeSymbol> find_sigreturn_trampoline(pid_t pid, const Maps& maps) {
  static const uint8_t kCode[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  for (const Mapping* m : files_matching(maps, "/")) {
    if (!is_libc(m->path)) continue;
    OpenElf f(node_path(pid, m->path));
    if (!f.elf) continue;
    if (auto v = symbol_value(f.elf, SHT_SYMTAB, "__restore_rt")) {
      if (auto a = node_address(f.elf, *m, *v)) return NodeSymbol{*a, m->path};
    }
    size_t n = 0;
    if (elf_getphdrnum(f.elf, &n) != 0) continue;
    size_t file_size = 0;
    const char* raw = elf_rawfile(f.elf, &file_size);
    if (!raw) continue;
    for (size_t i = 0; i < n; ++i) {
      GElf_Phdr ph;
      if (!gelf_getphdr(f.elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
      if (ph.p_offset + ph.p_filesz > file_size) continue;
      const uint8_t* seg = reinterpret_cast<const uint8_t*>(raw) + ph.p_offset;
      for (uint64_t off = 0; off + sizeof kCode <= ph.p_filesz; ++off) {
        if (seg[off] != kCode[0] || std::memcmp(seg + off, kCode, sizeof kCode) != 0) continue;
        // Only an address the node maps executable is usable.
        for (const auto& x : maps.mappings) {
          if (x.path != m->path || !x.executable) continue;
          if (auto a = node_address(f.elf, x, ph.p_vaddr + off); a && x.contains(*a))
            return NodeSymbol{*a, m->path};
        }
      }
    }
  }
  return fail(ErrorCode::not_found,
              "libc's signal-return trampoline (__restore_rt) was not found in the node: no injected call "
              "without it, since the called function must return through it");
}

}  // namespace sonde::target
