#include "memory/glibc_locate.h"

#include <gelf.h>

#include <cinttypes>
#include <cstdio>
#include <map>

#include "memory/remote_memory.h"
#include "symbolize/debug_file.h"
#include "symbolize/elf_file.h"

namespace sonde::memory {

namespace {

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Values of the named symbols in the file's .symtab (main_arena and mp_ are
// static: only a full symbol table has them, never .dynsym). One pass.
std::map<std::string, uint64_t> symtab_values(const symbolize::ElfFile& file,
                                              const std::vector<std::string>& names) {
  std::map<std::string, uint64_t> out;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(file.elf(), scn)) != nullptr) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count && out.size() < names.size(); ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      if (GELF_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_shndx == SHN_UNDEF) continue;
      const char* name = elf_strptr(file.elf(), sh.sh_link, sym.st_name);
      if (!name) continue;
      for (const auto& n : names)
        if (n == name && !out.count(n)) out[n] = sym.st_value;
    }
  }
  return out;
}

std::string map_files_path(pid_t pid, const target::Mapping& m) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, static_cast<int>(pid), m.start, m.end);
  return buf;
}

}  // namespace

AllocatorGuess guess_allocator(const target::Maps& maps) {
  for (const auto& m : maps.mappings) {
    if (!m.is_file()) continue;
    std::string base = basename_of(m.path);
    if (starts_with(base, "libjemalloc")) return {"jemalloc", m.path};
    if (starts_with(base, "libtcmalloc")) return {"tcmalloc", m.path};
    if (starts_with(base, "libmimalloc")) return {"mimalloc", m.path};
  }
  return {"glibc", ""};
}

const target::Mapping* find_libc(const target::Maps& maps) {
  const target::Mapping* best = nullptr;
  for (const auto& m : maps.mappings) {
    if (!m.is_file()) continue;
    std::string base = basename_of(m.path);
    // libc.so.6 since glibc 2.34; libc-2.31.so and the like before.
    if (!(starts_with(base, "libc.so") || (starts_with(base, "libc-") && base.find(".so") != std::string::npos)))
      continue;
    if (!best || m.offset < best->offset) best = &m;
  }
  return best;
}

std::string missing_debug_info_message(const std::string& libc_path, const std::string& build_id) {
  return "glibc malloc figures need the debug info of the node's libc (" + libc_path +
         (build_id.empty() ? std::string() : ", build-id " + build_id) +
         "), which is not installed: install libc6-dbg (Debian, Ubuntu) or glibc-debuginfo "
         "(Fedora, RHEL, SUSE: `debuginfo-install glibc`); the procfs figures below do not need it";
}

bool version_has_safe_linking(const std::string& version) {
  unsigned major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%u.%u", &major, &minor) != 2) return true;
  return major > 2 || (major == 2 && minor >= 32);
}

Result<GlibcTarget> locate_glibc(pid_t pid, const target::Maps& maps, const GlibcOptions& options) {
  const target::Mapping* libc = find_libc(maps);
  if (!libc)
    return fail(ErrorCode::not_found,
                "no glibc in the node's mappings (statically linked, or another C library): no malloc walk");
  GlibcTarget t;
  t.libc_path = libc->path;
  // The file the node really maps: through its root (containers), or via
  // map_files when the file on disk was replaced by an upgrade.
  std::string path = libc->path;
  const std::string deleted = " (deleted)";
  bool was_deleted = path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0;
  auto file = was_deleted ? symbolize::ElfFile::open(map_files_path(pid, *libc))
                          : symbolize::ElfFile::open(target::node_path(pid, path));
  if (!file) return std::unexpected(file.error());
  t.build_id = (*file)->build_id();

  uint64_t vaddr = 0;
  if (!symbolize::vaddr_of_offset((*file)->loads(), libc->offset, &vaddr))
    return fail(ErrorCode::internal, "libc mapping offset matches no PT_LOAD of " + path);
  t.load_bias = libc->start - vaddr;

  // Symbols and DWARF from libc itself when it has them, else from its
  // verified debug file.
  const symbolize::ElfFile* source = file->get();
  std::unique_ptr<symbolize::ElfFile> debug;
  if (!(*file)->has_symtab() || !(*file)->has_debug_info()) {
    auto found = symbolize::find_debug_file({pid, libc->path, file->get()}, options.debug_dirs);
    if (!found) return fail(ErrorCode::not_found, missing_debug_info_message(t.libc_path, t.build_id));
    debug = std::move(*found);
    source = debug.get();
  }
  if (!source->has_symtab() || !source->has_debug_info())
    return fail(ErrorCode::not_found, missing_debug_info_message(t.libc_path, t.build_id));
  t.debug_file = source->path();

  auto syms = symtab_values(*source, {"main_arena", "mp_", "narenas", "__libc_version"});
  if (!syms.count("main_arena") || !syms.count("mp_"))
    return fail(ErrorCode::not_found, "the symbol table of " + t.debug_file + " has no main_arena/mp_");
  t.main_arena = t.load_bias + syms["main_arena"];
  t.mp = t.load_bias + syms["mp_"];
  if (syms.count("narenas")) t.narenas = t.load_bias + syms["narenas"];

  auto layout = read_malloc_layout(*source);
  if (!layout) return std::unexpected(layout.error());
  t.layout = std::move(*layout);

  if (syms.count("__libc_version")) {
    RemoteMemory mem(pid);
    if (auto v = mem.read_cstring(t.load_bias + syms["__libc_version"], 16)) t.version = *v;
  }
  t.safe_linking = version_has_safe_linking(t.version);
  return t;
}

}  // namespace sonde::memory
