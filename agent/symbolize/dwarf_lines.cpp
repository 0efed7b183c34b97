#include "symbolize/dwarf_lines.h"

#include <dwarf.h>

#include <algorithm>
#include <cstdlib>

#include "symbolize/demangle.h"
#include "symbolize/elf_file.h"

namespace sonde::symbolize {

namespace {

// dwarf_getscopes* hand out malloc'd arrays.
struct ScopeArray {
  Dwarf_Die* dies = nullptr;
  int count = 0;
  ~ScopeArray() { std::free(dies); }
};

const char* string_attr(Dwarf_Die* die, unsigned name) {
  Dwarf_Attribute attr;
  // _integrate follows DW_AT_abstract_origin / DW_AT_specification, where an
  // inlined instance or an out-of-line definition keeps its names.
  if (dwarf_attr_integrate(die, name, &attr) == nullptr) return nullptr;
  return dwarf_formstring(&attr);
}

// The declaration a concrete DIE refers to: that is where its enclosing
// namespaces and classes are.
Dwarf_Die declaration_of(Dwarf_Die die) {
  for (int depth = 0; depth < 8; ++depth) {
    Dwarf_Attribute attr;
    Dwarf_Die next;
    if (dwarf_attr(&die, DW_AT_abstract_origin, &attr) == nullptr &&
        dwarf_attr(&die, DW_AT_specification, &attr) == nullptr)
      break;
    if (dwarf_formref_die(&attr, &next) == nullptr) break;
    die = next;
  }
  return die;
}

// "ns::Class::name" for a DIE without a linkage name (C++ functions that
// have none, e.g. some inlined ones), from the scopes that enclose its
// declaration; a plain C name stays plain.
std::string qualified_name(Dwarf_Die* die, const char* base) {
  std::string name = base;
  Dwarf_Die decl = declaration_of(*die);
  ScopeArray scopes;
  scopes.count = dwarf_getscopes_die(&decl, &scopes.dies);
  for (int i = 1; i < scopes.count; ++i) {
    int tag = dwarf_tag(&scopes.dies[i]);
    if (tag != DW_TAG_namespace && tag != DW_TAG_class_type && tag != DW_TAG_structure_type &&
        tag != DW_TAG_union_type)
      continue;
    const char* scope = dwarf_diename(&scopes.dies[i]);
    name = std::string(scope ? scope : "(anonymous namespace)") + "::" + name;
  }
  return name;
}

std::string function_name(Dwarf_Die* die) {
  const char* linkage = string_attr(die, DW_AT_linkage_name);
  if (linkage == nullptr) linkage = string_attr(die, DW_AT_MIPS_linkage_name);
  if (linkage != nullptr) return demangle(linkage);
  const char* base = string_attr(die, DW_AT_name);
  return base ? qualified_name(die, base) : std::string();
}

struct Location {
  std::string file;
  int line = 0;
};

// Where an inlined instance was called from, in its caller's source.
Location call_site(Dwarf_Die* cu, Dwarf_Die* inlined) {
  Location loc;
  Dwarf_Attribute attr;
  Dwarf_Word file_index = 0, line = 0;
  if (dwarf_attr(inlined, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &line) == 0)
    loc.line = static_cast<int>(line);
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_attr(inlined, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &file_index) == 0 &&
      dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && file_index < nfiles) {
    if (const char* f = dwarf_filesrc(files, file_index, nullptr, nullptr)) loc.file = f;
  }
  return loc;
}

}  // namespace

Result<std::unique_ptr<DwarfLines>> DwarfLines::open(const ElfFile& file) {
  Dwarf* dwarf = dwarf_begin_elf(file.elf(), DWARF_C_READ, nullptr);
  if (dwarf == nullptr)
    return fail(ErrorCode::not_found,
                "no DWARF in " + file.path() + ": " + dwarf_errmsg(-1));
  std::unique_ptr<DwarfLines> lines(new DwarfLines());
  lines->dwarf_ = dwarf;
  lines->index_units();
  return lines;
}

DwarfLines::~DwarfLines() {
  if (dwarf_ != nullptr) dwarf_end(dwarf_);
}

// One pass over the compile units' address ranges. This does not depend on
// .debug_aranges, which some compilers (clang) do not emit by default.
void DwarfLines::index_units() {
  Dwarf_CU* cu = nullptr;
  Dwarf_CU* next = nullptr;
  Dwarf_Half version = 0;
  uint8_t unit_type = 0;
  Dwarf_Die cudie, subdie;
  while (dwarf_get_units(dwarf_, cu, &next, &version, &unit_type, &cudie, &subdie) == 0) {
    cu = next;
    if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
    ptrdiff_t off = 0;
    Dwarf_Addr base = 0, start = 0, end = 0;
    while ((off = dwarf_ranges(&cudie, off, &base, &start, &end)) > 0)
      if (end > start) cus_.push_back({start, end, cudie});
  }
  std::sort(cus_.begin(), cus_.end(),
            [](const CuRange& a, const CuRange& b) { return a.start < b.start; });
}

bool DwarfLines::find_cu(uint64_t vaddr, Dwarf_Die* cu) {
  auto it = std::upper_bound(cus_.begin(), cus_.end(), vaddr,
                             [](uint64_t a, const CuRange& r) { return a < r.start; });
  for (int steps = 0; it != cus_.begin() && steps < 8; ++steps) {
    --it;
    if (vaddr < it->end) {
      *cu = it->die;
      return true;
    }
  }
  // A unit whose ranges we could not read: let libdw search .debug_aranges.
  return dwarf_addrdie(dwarf_, vaddr, cu) != nullptr;
}

std::vector<SourceFrame> DwarfLines::lookup(uint64_t vaddr) {
  std::vector<SourceFrame> frames;
  Dwarf_Die cu;
  if (!find_cu(vaddr, &cu)) return frames;

  Location here;
  if (Dwarf_Line* line = dwarf_getsrc_die(&cu, vaddr)) {
    int lineno = 0;
    dwarf_lineno(line, &lineno);
    const char* file = dwarf_linesrc(line, nullptr, nullptr);
    // Line 0 marks code with no source line (compiler-made): say nothing.
    if (lineno > 0 && file != nullptr) here = {file, lineno};
  }

  // dwarf_getscopes stops at an inlined instance and continues in its
  // abstract definition; dwarf_getscopes_die from the innermost DIE gives
  // the physical nesting instead, i.e. the chain of callers we want.
  ScopeArray found;
  found.count = dwarf_getscopes(&cu, vaddr, &found.dies);
  ScopeArray chain;
  if (found.count > 0) chain.count = dwarf_getscopes_die(&found.dies[0], &chain.dies);

  for (int i = 0; i < chain.count; ++i) {
    Dwarf_Die* die = &chain.dies[i];
    int tag = dwarf_tag(die);
    if (tag == DW_TAG_inlined_subroutine) {
      frames.push_back({function_name(die), here.file, here.line, true});
      here = call_site(&cu, die);
    } else if (tag == DW_TAG_subprogram) {
      frames.push_back({function_name(die), here.file, here.line, false});
      break;
    }
  }
  // No function DIE (e.g. assembly with line info only): still give the line.
  if (frames.empty() && here.line > 0) frames.push_back({"", here.file, here.line, false});
  return frames;
}

}  // namespace sonde::symbolize
