// The layout of glibc's malloc structures in the node's own libc, read from
// that libc's DWARF (libc6-dbg on Debian): member offsets and sizes of
// struct malloc_state, malloc_par, malloc_chunk and heap_info. Nothing here
// is hard-coded for one glibc version: fields move between releases
// (malloc_par grew thp_pagesize/hp_* in 2.35, heap_info grew pagesize), and
// only the debug info of the running build says where they are.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"

namespace sonde::symbolize {
class ElfFile;
}

namespace sonde::memory {

struct Field {
  uint64_t offset = 0;
  uint64_t size = 0;   // bytes of the whole member (an array: all of it)
  bool present = false;
};

struct StructLayout {
  std::string name;
  uint64_t size = 0;
  std::map<std::string, Field> fields;

  // The member, or an absent Field.
  Field field(const std::string& member) const;
};

struct MallocLayout {
  StructLayout malloc_state, malloc_par, malloc_chunk, heap_info;
};

// Reads the four structs from the compile unit of malloc.c in `file` (a
// file with DWARF: libc's separate debug file, or libc itself when it was
// not stripped). Fails, naming what is missing, when the CU or a member the
// walk needs is not there.
Result<MallocLayout> read_malloc_layout(const symbolize::ElfFile& file);

// The members the walk cannot do without (checked by read_malloc_layout);
// exposed so a test can check a real libc has them all.
bool layout_complete(const MallocLayout& l, std::string* missing);

}  // namespace sonde::memory
