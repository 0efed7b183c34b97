// glibc malloc's figures, read from outside: every arena (main_arena and the
// ring of main_arena.next), each one's fastbins and bins walked list by list,
// top chunk, system bytes and attached threads, plus mp_'s mmapped chunks.
// The totals follow glibc's own int_mallinfo() arithmetic, so they are what
// mallinfo2() would say inside the node:
//   avail    = top + fastbin chunks + chunks in bins 1..NBINS-1
//   fordblks = sum of avail;  arena = sum of system_mem
//   uordblks = sum of (system_mem - avail)  ("in use", DESIGN.md §1)
//   ordblks  = sum of (1 + chunks in bins); smblks/fsmblks = fastbin count/bytes
//   hblks/hblkhd = mp_.n_mmaps/mmapped_mem; keepcost = main arena's top
// Chunks cached in a thread's tcache count as in use, as in mallinfo2().
//
// Only process_vm_readv: no stop, no write, no lock taken. A node that frees
// or allocates while we read may change a list under us, so each arena is
// read, walked, and read again; it is walked again (a few times) until the
// two reads agree and its mutex was free. Every loop is bounded and every
// pointer checked (alignment, size, readable) before it is followed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "memory/glibc_locate.h"

namespace sonde::memory {

// One bin (or fastbin) that holds chunks: sizes as observed in the walk.
struct BinStats {
  std::string kind;      // "fast", "unsorted", "small", "large"
  int index = 0;         // glibc's bin index (fastbins: their own 0..NFASTBINS-1)
  uint64_t count = 0, bytes = 0;
  uint64_t min_size = 0, max_size = 0;
};

// A heap of a non-main arena (struct heap_info): an mmapped region.
struct HeapSpan {
  uint64_t start = 0, size = 0, mprotect_size = 0;
};

struct ArenaStats {
  int index = 0;              // 0: main_arena; then in main_arena.next order
  uint64_t address = 0;
  bool is_main = false;
  uint64_t system_mem = 0, max_system_mem = 0;
  uint64_t top = 0, top_size = 0;
  uint64_t fast_count = 0, fast_bytes = 0;
  uint64_t bin_count = 0, bin_bytes = 0;    // regular bins (unsorted, small, large)
  uint64_t free_bytes() const { return top_size + fast_bytes + bin_bytes; }
  uint64_t in_use() const { return system_mem > free_bytes() ? system_mem - free_bytes() : 0; }
  int64_t attached_threads = -1;            // -1: this glibc does not keep the count
  uint32_t flags = 0;
  std::vector<BinStats> bins;               // only the non-empty ones, fastbins first
  std::vector<HeapSpan> heaps;              // non-main arenas: newest first
  bool consistent = true;                   // false: it kept changing while read
  int attempts = 0;
};

// mallinfo2()'s fields, from the walk.
struct Mallinfo2 {
  uint64_t arena = 0, ordblks = 0, smblks = 0, hblks = 0, hblkhd = 0, usmblks = 0;
  uint64_t fsmblks = 0, uordblks = 0, fordblks = 0, keepcost = 0;
};

// The tunables and counters of mp_ that an operator reads.
struct MallocParams {
  uint64_t n_mmaps = 0, max_n_mmaps = 0, mmapped_mem = 0, max_mmapped_mem = 0;
  uint64_t mmap_threshold = 0, trim_threshold = 0, top_pad = 0, arena_test = 0, arena_max = 0;
  uint64_t sbrk_base = 0, tcache_bins = 0, tcache_count = 0;
  int64_t narenas = -1;
};

struct GlibcHeap {
  GlibcTarget target;
  std::vector<ArenaStats> arenas;
  MallocParams params;
  Mallinfo2 totals;
  bool consistent = true;   // every arena was read stable
  uint64_t chunks_visited = 0;
  uint64_t reads = 0;       // process_vm_readv calls
  double walk_ms = 0;
};

struct WalkOptions {
  int max_attempts = 5;           // per arena, when it changes under us
  uint64_t max_chunks = 50'000'000;
  int max_arenas = 4096;
};

Result<GlibcHeap> walk_glibc(pid_t pid, const GlibcTarget& target, const WalkOptions& options = {});

// glibc's kind of bin for an index (unsorted 1, small 2..63, large the rest).
const char* bin_kind(int index);

}  // namespace sonde::memory
