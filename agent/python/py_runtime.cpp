#include "python/py_runtime.h"

#include <fmt/format.h>
#include <gelf.h>

#include <cstdio>
#include <map>
#include <memory>
#include <regex>

#include "memory/remote_memory.h"
#include "python/py_threads.h"
#include "symbolize/elf_file.h"

namespace sonde::python {

namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Link-time values of the named data symbols, from .dynsym and .symtab
// (_PyRuntime is exported, but a stripped static build may keep only one).
std::map<std::string, uint64_t> symbol_values(const symbolize::ElfFile& file, const std::vector<std::string>& names) {
  std::map<std::string, uint64_t> out;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(file.elf(), scn)) != nullptr && out.size() < names.size()) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_entsize == 0) continue;
    if (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
      const char* name = elf_strptr(file.elf(), sh.sh_link, sym.st_name);
      if (!name || (name[0] != '_' && name[0] != 'P')) continue;
      for (const auto& n : names)
        if (n == name && !out.count(n)) out[n] = sym.st_value;
    }
  }
  return out;
}

// The .PyRuntime section's address: where _PyRuntime is when no symbol table names it.
uint64_t pyruntime_section(const symbolize::ElfFile& file) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(file.elf(), &shstrndx) != 0) return 0;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(file.elf(), scn)) != nullptr) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) continue;
    const char* name = elf_strptr(file.elf(), shstrndx, sh.sh_name);
    if (name && std::string(name) == ".PyRuntime") return sh.sh_addr;
  }
  return 0;
}

// "3.10" from "libpython3.10.so.1.0" or "python3.10": the version of an
// interpreter too old to carry Py_Version.
std::string version_from_name(const std::string& path) {
  static const std::regex re(R"(python(\d)\.(\d+))");
  std::smatch m;
  std::string base = base_name(path);
  if (std::regex_search(base, m, re)) return m[1].str() + "." + m[2].str();
  return "";
}

Error unsupported(const std::string& version, const std::string& module) {
  return Error{ErrorCode::bad_request,
               fmt::format("the node runs CPython {} ({}); sonde reads Python frames of CPython {} only: "
                           "run the node on a supported version, or use --native-only for native frames",
                           version.empty() ? "of an unknown version" : version, module, kSupportedVersions)};
}

}  // namespace

Result<PyRuntime> locate_python(pid_t pid, const target::Maps& maps) {
  // Candidates: the executable and any libpython, each by its lowest mapping.
  std::vector<const target::Mapping*> candidates;
  std::map<std::string, const target::Mapping*> first;
  for (const auto& m : maps.mappings) {
    if (!m.is_file()) continue;
    auto [it, added] = first.try_emplace(m.path, &m);
    if (!added && m.offset < it->second->offset) it->second = &m;
  }
  const std::string exe = maps.mappings.empty() ? "" : maps.mappings.front().path;
  if (auto it = first.find(exe); it != first.end()) candidates.push_back(it->second);
  for (auto& [path, m] : first)
    if (path != exe && base_name(path).rfind("libpython", 0) == 0) candidates.push_back(m);

  memory::RemoteMemory mem(pid);
  for (const auto* m : candidates) {
    auto file = symbolize::ElfFile::open(target::node_path(pid, m->path));
    if (!file) continue;
    auto syms = symbol_values(**file, {"_PyRuntime", "Py_Version", "PyCode_Type", "PyUnicode_Type", "PyDict_Type", "PyModule_Type"});
    uint64_t runtime_vaddr = syms.count("_PyRuntime") ? syms["_PyRuntime"] : pyruntime_section(**file);
    if (!runtime_vaddr) continue;
    uint64_t vaddr = 0;
    if (!symbolize::vaddr_of_offset((*file)->loads(), m->offset, &vaddr)) continue;
    const uint64_t bias = m->start - vaddr;

    PyRuntime rt;
    rt.pid = pid;
    rt.module = m->path;
    rt.module_start = m->start;
    rt.runtime = bias + runtime_vaddr;
    if (syms.count("PyCode_Type")) rt.code_type = bias + syms["PyCode_Type"];
    if (syms.count("PyUnicode_Type")) rt.unicode_type = bias + syms["PyUnicode_Type"];
    if (syms.count("PyDict_Type")) rt.dict_type = bias + syms["PyDict_Type"];
    if (syms.count("PyModule_Type")) rt.module_type = bias + syms["PyModule_Type"];
    if (!syms.count("Py_Version")) {
      // 3.11 added Py_Version: without it, this is 3.10 or older.
      return std::unexpected(unsupported(version_from_name(m->path), m->path));
    }
    auto hex = mem.read_u64(bias + syms["Py_Version"]);
    if (!hex) return std::unexpected(hex.error());
    rt.version_hex = *hex & 0xffffffff;
    long major = long(rt.version_hex >> 24), minor = long((rt.version_hex >> 16) & 0xff);
    rt.version = fmt::format("{}.{}.{}", major, minor, (rt.version_hex >> 8) & 0xff);
    if (major != 3 || minor < 11 || minor > 13) return std::unexpected(unsupported(rt.version, m->path));
    if (minor >= 13) {
      auto bytes = mem.read_bytes(rt.runtime, kDebugOffsetsBytes);
      if (!bytes) return std::unexpected(bytes.error());
      auto layout = layout_from_debug_offsets(*bytes, rt.version_hex);
      if (!layout)
        return fail(ErrorCode::bad_request,
                    fmt::format("CPython {} in {}: {}", rt.version, m->path, layout.error().message));
      rt.layout = *layout;
    } else {
      rt.layout = *table_layout(major, minor);
    }
    if (const auto* objects = object_layout(major, minor)) {
      rt.objects = *objects;
      // 3.13+ publish where sys.modules is: that wins over the table.
      if (rt.layout.interp_modules >= 0) rt.objects->interp_modules = rt.layout.interp_modules;
    }
    // The table must fit this build: a thread state's interpreter pointer
    // must lead back to the interpreter that lists it.
    auto ok = check_layout(mem, rt);
    if (!ok && ok.error().code != ErrorCode::bad_request) return std::unexpected(ok.error());
    if (!ok)
      return fail(ErrorCode::bad_request,
                  fmt::format("CPython {} in {}: the {} offset table does not fit this build ({}); "
                              "sonde cannot read its Python frames",
                              rt.version, m->path, rt.version.substr(0, rt.version.rfind('.')), ok.error().message));
    return rt;
  }
  return fail(ErrorCode::not_found, "the node is not a CPython process (no _PyRuntime in its executable or a libpython)");
}

}  // namespace sonde::python
