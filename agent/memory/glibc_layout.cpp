#include "memory/glibc_layout.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "symbolize/elf_file.h"

namespace sonde::memory {

namespace {

// glibc's own tag names: heap_info is a typedef of struct _heap_info.
constexpr const char* kStructs[][1] = {{"malloc_state"}, {"malloc_par"}, {"malloc_chunk"}, {"_heap_info"}};

bool is_malloc_cu(Dwarf_Die* cu) {
  const char* name = dwarf_diename(cu);
  if (!name) return false;
  std::string_view n(name);
  return n == "malloc.c" || (n.size() > 9 && n.substr(n.size() - 9) == "/malloc.c");
}

bool read_struct(Dwarf_Die* die, StructLayout* out) {
  Dwarf_Attribute attr;
  Dwarf_Word size = 0;
  // A declaration has no size: the definition is elsewhere in the CU.
  if (dwarf_attr(die, DW_AT_byte_size, &attr) == nullptr || dwarf_formudata(&attr, &size) != 0) return false;
  out->size = size;
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return true;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    const char* name = dwarf_diename(&child);
    if (!name) continue;
    Field f;
    Dwarf_Word off = 0;
    if (dwarf_attr(&child, DW_AT_data_member_location, &attr) == nullptr || dwarf_formudata(&attr, &off) != 0)
      continue;  // a location expression (never used for these C structs)
    f.offset = off;
    Dwarf_Die type;
    Dwarf_Word tsize = 0;
    if (dwarf_attr(&child, DW_AT_type, &attr) != nullptr && dwarf_formref_die(&attr, &type) != nullptr &&
        dwarf_aggregate_size(&type, &tsize) == 0)
      f.size = tsize;
    f.present = true;
    out->fields[name] = f;
  } while (dwarf_siblingof(&child, &child) == 0);
  return true;
}

struct DwarfHandle {
  Dwarf* dw = nullptr;
  ~DwarfHandle() {
    if (dw) dwarf_end(dw);
  }
};

}  // namespace

Field StructLayout::field(const std::string& member) const {
  auto it = fields.find(member);
  return it == fields.end() ? Field{} : it->second;
}

bool layout_complete(const MallocLayout& l, std::string* missing) {
  struct Need {
    const StructLayout* s;
    const char* member;
  };
  const Need needs[] = {
      {&l.malloc_state, "mutex"},      {&l.malloc_state, "flags"},        {&l.malloc_state, "fastbinsY"},
      {&l.malloc_state, "top"},        {&l.malloc_state, "bins"},         {&l.malloc_state, "next"},
      {&l.malloc_state, "system_mem"}, {&l.malloc_par, "n_mmaps"},        {&l.malloc_par, "mmapped_mem"},
      {&l.malloc_chunk, "mchunk_size"}, {&l.malloc_chunk, "fd"},          {&l.malloc_chunk, "bk"},
  };
  for (const auto& n : needs) {
    if (!n.s->field(n.member).present) {
      if (missing) *missing = "struct " + (n.s->name.empty() ? std::string("?") : n.s->name) + " member " + n.member;
      return false;
    }
  }
  return true;
}

Result<MallocLayout> read_malloc_layout(const symbolize::ElfFile& file) {
  DwarfHandle h;
  h.dw = dwarf_begin_elf(file.elf(), DWARF_C_READ, nullptr);
  if (!h.dw) return fail(ErrorCode::not_found, file.path() + " has no readable DWARF: " + dwarf_errmsg(-1));

  MallocLayout out;
  out.malloc_state.name = "malloc_state";
  out.malloc_par.name = "malloc_par";
  out.malloc_chunk.name = "malloc_chunk";
  out.heap_info.name = "heap_info";
  StructLayout* slots[] = {&out.malloc_state, &out.malloc_par, &out.malloc_chunk, &out.heap_info};

  // Pass 1 reads only CU headers until malloc.c's (a few thousand, cheap).
  // Pass 2, for a debug file whose types were moved out of malloc.c's CU
  // (dwz puts shared types into partial units), looks at every unit.
  bool found_cu = false;
  for (int pass = 1; pass <= 2; ++pass) {
    Dwarf_CU* cu = nullptr;
    Dwarf_CU* next = nullptr;
    uint8_t unit_type = 0;
    Dwarf_Half version = 0;
    Dwarf_Die cudie, subdie;
    while (dwarf_get_units(h.dw, cu, &next, &version, &unit_type, &cudie, &subdie) == 0) {
      cu = next;
      if (pass == 1 && (unit_type != DW_UT_compile || !is_malloc_cu(&cudie))) continue;
      if (pass == 1) found_cu = true;
      Dwarf_Die child;
      if (dwarf_child(&cudie, &child) != 0) continue;
      do {
        if (dwarf_tag(&child) != DW_TAG_structure_type) continue;
        const char* name = dwarf_diename(&child);
        if (!name) continue;
        for (size_t i = 0; i < 4; ++i)
          if (std::strcmp(name, kStructs[i][0]) == 0 && slots[i]->size == 0) read_struct(&child, slots[i]);
      } while (dwarf_siblingof(&child, &child) == 0);
      if (out.malloc_state.size && out.malloc_par.size && out.malloc_chunk.size && out.heap_info.size) break;
    }
    if (out.malloc_state.size && out.malloc_par.size && out.malloc_chunk.size) break;
  }
  if (!found_cu && out.malloc_state.size == 0)
    return fail(ErrorCode::not_found, file.path() + " has DWARF but no compile unit for malloc.c");
  std::string missing;
  if (!layout_complete(out, &missing))
    return fail(ErrorCode::not_found, "the DWARF of malloc.c in " + file.path() + " lacks " + missing);
  return out;
}

}  // namespace sonde::memory
