// Which anonymous mappings hold glibc's mmapped chunks (blocks of
// mmap_threshold or more get a mapping each). glibc keeps no list of them,
// only their count and bytes in mp_, so we recognize them by their header:
// a chunk at the start of the mapping (prev_size = the alignment correction,
// below a page) whose size has IS_MMAPPED set, no NON_MAIN_ARENA, is a
// multiple of the page size and fits the mapping. Adjacent ones that the
// kernel merged into one mapping are followed chunk after chunk.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "memory/mapping_classes.h"
#include "memory/proc_memory.h"

namespace sonde::memory {

struct MmappedChunks {
  std::vector<KnownRange> ranges;
  uint64_t count = 0, bytes = 0;
};

// Looks at private anonymous rw mappings that `known` does not claim.
MmappedChunks find_mmapped_chunks(pid_t pid, const std::vector<SmapsEntry>& entries,
                                  const std::vector<KnownRange>& known, uint64_t page_size);

// The chunk header rule alone (unit-tested): the chunk's whole span from the
// mapping start (correction + size), or 0 when it is not an mmapped chunk.
uint64_t mmapped_chunk_span(uint64_t prev_size, uint64_t size_field, uint64_t room, uint64_t page_size);

}  // namespace sonde::memory
