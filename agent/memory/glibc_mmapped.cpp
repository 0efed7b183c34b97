#include "memory/glibc_mmapped.h"

#include "memory/remote_memory.h"

namespace sonde::memory {

namespace {
constexpr uint64_t kIsMmapped = 2, kNonMainArena = 4, kSizeBits = 7;
}

uint64_t mmapped_chunk_span(uint64_t prev_size, uint64_t size_field, uint64_t room, uint64_t page_size) {
  if (!(size_field & kIsMmapped) || (size_field & kNonMainArena)) return 0;
  uint64_t size = size_field & ~kSizeBits;
  if (prev_size >= page_size || size == 0) return 0;
  uint64_t span = prev_size + size;
  if (span % page_size != 0 || span > room) return 0;
  return span;
}

MmappedChunks find_mmapped_chunks(pid_t pid, const std::vector<SmapsEntry>& entries,
                                  const std::vector<KnownRange>& known, uint64_t page_size) {
  MmappedChunks out;
  RemoteMemory mem(pid);
  for (const auto& e : entries) {
    const auto& m = e.map;
    if (!m.path.empty() || m.shared || !m.readable || !m.writable) continue;
    bool claimed = false;
    for (const auto& k : known) claimed = claimed || (k.start < m.end && k.end > m.start);
    if (claimed) continue;
    uint64_t at = m.start;
    for (int n = 0; n < 65536 && at + 16 <= m.end; ++n) {
      uint64_t hdr[2] = {0, 0};
      if (!mem.read(at, hdr, sizeof hdr)) break;
      uint64_t span = mmapped_chunk_span(hdr[0], hdr[1], m.end - at, page_size);
      if (!span) break;
      out.ranges.push_back({at, at + span, MappingKind::mmapped_chunk, -1});
      ++out.count;
      out.bytes += span;
      at += span;
    }
  }
  return out;
}

}  // namespace sonde::memory
