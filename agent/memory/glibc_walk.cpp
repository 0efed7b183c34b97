#include "memory/glibc_walk.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "memory/remote_memory.h"

namespace sonde::memory {

namespace {

// The low bits of a chunk's size field are flags (PREV_INUSE, IS_MMAPPED,
// NON_MAIN_ARENA): chunksize() masks them off.
constexpr uint64_t kSizeBits = 7;
// Bins below this index hold one chunk size each ("small bins"); glibc has
// kept NSMALLBINS = 64 since ptmalloc2.
constexpr int kSmallBins = 64;

// A field of a struct copied out of the node, little-endian, 1-8 bytes.
uint64_t get(const std::string& bytes, const Field& f, uint64_t index = 0, uint64_t elem = 0) {
  if (!f.present) return 0;
  uint64_t size = elem ? elem : f.size;
  uint64_t at = f.offset + index * size;
  if (size == 0 || size > 8 || at + size > bytes.size()) return 0;
  uint64_t v = 0;
  std::memcpy(&v, bytes.data() + at, size);
  return v;
}

struct Walker {
  const RemoteMemory& mem;
  const GlibcTarget& t;
  const WalkOptions& opt;
  uint64_t ptr_size = 8;
  uint64_t align = 16;
  uint64_t off_size = 8, off_fd = 16, off_bk = 24, hdr_len = 32, min_size = 32;
  uint64_t visited = 0;

  Walker(const RemoteMemory& m, const GlibcTarget& target, const WalkOptions& o) : mem(m), t(target), opt(o) {
    const auto& c = t.layout.malloc_chunk;
    ptr_size = c.field("fd").size ? c.field("fd").size : 8;
    // MALLOC_ALIGNMENT is 2 * SIZE_SZ (16 on 64-bit).
    align = 2 * (c.field("mchunk_size").size ? c.field("mchunk_size").size : 8);
    off_size = c.field("mchunk_size").offset;
    off_fd = c.field("fd").offset;
    off_bk = c.field("bk").offset;
    hdr_len = off_bk + ptr_size;
    // MINSIZE: the chunk up to fd_nextsize, rounded to the alignment.
    auto nextsize = c.field("fd_nextsize");
    uint64_t raw = nextsize.present ? nextsize.offset : hdr_len;
    min_size = (raw + align - 1) & ~(align - 1);
  }

  bool plausible(uint64_t p) const { return p != 0 && p % align == 0; }

  // size, fd, bk of the chunk at p.
  Result<void> header(uint64_t p, uint64_t* size, uint64_t* fd, uint64_t* bk) {
    char buf[64] = {};
    if (hdr_len > sizeof buf) return fail(ErrorCode::internal, "malloc_chunk header larger than expected");
    if (auto r = mem.read(p, buf, hdr_len); !r) return r;
    uint64_t s = 0, f = 0, b = 0;
    std::memcpy(&s, buf + off_size, 8);
    std::memcpy(&f, buf + off_fd, ptr_size);
    std::memcpy(&b, buf + off_bk, ptr_size);
    *size = s & ~kSizeBits;
    *fd = f;
    *bk = b;
    return {};
  }

  static void add(BinStats& b, uint64_t size) {
    b.min_size = b.count == 0 ? size : std::min(b.min_size, size);
    b.max_size = std::max(b.max_size, size);
    ++b.count;
    b.bytes += size;
  }

  // One pass over an arena whose struct was copied into `s`. False (and
  // `why`) when a pointer or size is not what a list of this arena can hold:
  // the node changed it while we read, or it is corrupt.
  bool walk_once(uint64_t arena_addr, const std::string& s, ArenaStats* a, std::string* why) {
    const auto& L = t.layout.malloc_state;
    a->bins.clear();
    a->fast_count = a->fast_bytes = a->bin_count = a->bin_bytes = 0;
    a->system_mem = get(s, L.field("system_mem"));
    a->max_system_mem = get(s, L.field("max_system_mem"));
    a->flags = static_cast<uint32_t>(get(s, L.field("flags")));
    if (L.field("attached_threads").present) a->attached_threads = static_cast<int64_t>(get(s, L.field("attached_threads")));
    a->top = get(s, L.field("top"));
    // An arena glibc never initialized (malloc never called through it, as
    // in a node that uses jemalloc) has no top and zeroed bins: empty.
    if (a->top == 0 && a->system_mem == 0) return true;
    uint64_t limit = a->system_mem / min_size + 2;  // no list can hold more chunks than this
    a->top_size = 0;
    if (a->top) {
      uint64_t fd = 0, bk = 0;
      if (!header(a->top, &a->top_size, &fd, &bk)) {
        *why = "top chunk unreadable";
        return false;
      }
      if (a->top_size > a->system_mem + align) {
        *why = "top chunk larger than the arena";
        return false;
      }
    }

    // Fastbins: singly linked through fd, NULL-terminated; since 2.32 each
    // fd is stored mangled with the address it is stored at (safe-linking).
    Field fb = L.field("fastbinsY");
    uint64_t nfast = fb.size / ptr_size;
    for (uint64_t i = 0; i < nfast; ++i) {
      BinStats b{"fast", static_cast<int>(i)};
      uint64_t p = get(s, fb, i, ptr_size);
      uint64_t n = 0;
      while (p) {
        if (!plausible(p) || ++n > limit || ++visited > opt.max_chunks) {
          *why = "fastbin " + std::to_string(i) + " holds a bad pointer";
          return false;
        }
        uint64_t size = 0, fd = 0, bk = 0;
        if (!header(p, &size, &fd, &bk) || size < min_size || size > a->system_mem) {
          *why = "fastbin " + std::to_string(i) + " holds a bad chunk";
          return false;
        }
        add(b, size);
        p = t.safe_linking ? ((p + off_fd) >> 12) ^ fd : fd;
      }
      if (b.count) {
        a->fast_count += b.count;
        a->fast_bytes += b.bytes;
        a->bins.push_back(b);
      }
    }

    // Regular bins 1..NBINS-1: circular doubly linked lists whose head is a
    // fake chunk overlaid on bins[] (bin_at), walked backwards via bk as
    // int_mallinfo does.
    Field bins = L.field("bins");
    uint64_t nbins = bins.size / (2 * ptr_size) + 1;  // bins[] holds NBINS*2-2 pointers
    for (uint64_t i = 1; i < nbins; ++i) {
      uint64_t head = arena_addr + bins.offset + (i - 1) * 2 * ptr_size - off_fd;
      // head->bk is bins[(i-1)*2 + 1], already in our copy.
      uint64_t p = get(s, bins, (i - 1) * 2 + 1, ptr_size);
      BinStats b{bin_kind(static_cast<int>(i)), static_cast<int>(i)};
      uint64_t n = 0;
      while (p != head) {
        if (!plausible(p) || ++n > limit || ++visited > opt.max_chunks) {
          *why = "bin " + std::to_string(i) + " holds a bad pointer";
          return false;
        }
        uint64_t size = 0, fd = 0, bk = 0;
        if (!header(p, &size, &fd, &bk) || size < min_size || size > a->system_mem) {
          *why = "bin " + std::to_string(i) + " holds a bad chunk";
          return false;
        }
        add(b, size);
        p = bk;
      }
      if (b.count) {
        a->bin_count += b.count;
        a->bin_bytes += b.bytes;
        a->bins.push_back(b);
      }
    }
    return true;
  }

  // The heaps of a non-main arena: the newest holds top; each links to the
  // one before through prev; the first sits right below the arena itself.
  void heaps_of(const target::Maps& maps, ArenaStats* a) {
    const auto& H = t.layout.heap_info;
    if (a->is_main || H.size == 0 || !H.field("ar_ptr").present || !H.field("prev").present) return;
    const target::Mapping* m = maps.find(a->top);
    if (!m) return;
    // heap_info is at the start of its heap, aligned to HEAP_MAX_SIZE (64 MiB
    // on 64-bit unless hugepage tunables change it): try the mapping start,
    // then that alignment. A candidate counts only when its ar_ptr is us.
    std::vector<uint64_t> candidates{m->start, a->top & ~((uint64_t{64} << 20) - 1)};
    uint64_t h = 0;
    for (uint64_t c : candidates) {
      auto bytes = mem.read_bytes(c, H.size);
      if (bytes && get(*bytes, H.field("ar_ptr")) == a->address) {
        h = c;
        break;
      }
    }
    for (int n = 0; h && n < 1024; ++n) {
      auto bytes = mem.read_bytes(h, H.size);
      if (!bytes || get(*bytes, H.field("ar_ptr")) != a->address) break;
      a->heaps.push_back({h, get(*bytes, H.field("size")), get(*bytes, H.field("mprotect_size"))});
      h = get(*bytes, H.field("prev"));
    }
  }
};

// The arena struct minus its mutex: what must not change across a walk.
bool same_state(const std::string& a, const std::string& b, const Field& mutex) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((i < mutex.offset || i >= mutex.offset + mutex.size) && a[i] != b[i]) return false;
  return true;
}

}  // namespace

const char* bin_kind(int index) {
  if (index == 1) return "unsorted";
  return index < kSmallBins ? "small" : "large";
}

Result<GlibcHeap> walk_glibc(pid_t pid, const GlibcTarget& target, const WalkOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  RemoteMemory mem(pid);
  GlibcHeap heap;
  heap.target = target;
  Walker w(mem, target, options);
  const auto& L = target.layout.malloc_state;
  const auto& P = target.layout.malloc_par;
  auto maps = target::read_maps(pid);

  auto mp = mem.read_bytes(target.mp, P.size);
  if (!mp) return std::unexpected(mp.error());
  auto& prm = heap.params;
  prm.n_mmaps = get(*mp, P.field("n_mmaps"));
  prm.max_n_mmaps = get(*mp, P.field("max_n_mmaps"));
  prm.mmapped_mem = get(*mp, P.field("mmapped_mem"));
  prm.max_mmapped_mem = get(*mp, P.field("max_mmapped_mem"));
  prm.mmap_threshold = get(*mp, P.field("mmap_threshold"));
  prm.trim_threshold = get(*mp, P.field("trim_threshold"));
  prm.top_pad = get(*mp, P.field("top_pad"));
  prm.arena_test = get(*mp, P.field("arena_test"));
  prm.arena_max = get(*mp, P.field("arena_max"));
  prm.sbrk_base = get(*mp, P.field("sbrk_base"));
  prm.tcache_bins = get(*mp, P.field("tcache_bins"));
  prm.tcache_count = get(*mp, P.field("tcache_count"));
  if (target.narenas)
    if (auto n = mem.read_u64(target.narenas)) prm.narenas = static_cast<int64_t>(*n);

  uint64_t addr = target.main_arena;
  for (int index = 0; index < options.max_arenas; ++index) {
    ArenaStats a;
    a.index = index;
    a.address = addr;
    a.is_main = addr == target.main_arena;
    std::string state;
    bool ok = false;
    std::string why;
    for (a.attempts = 1; a.attempts <= options.max_attempts && !ok; ++a.attempts) {
      auto before = mem.read_bytes(addr, L.size);
      if (!before) return std::unexpected(before.error());
      // Held mutex: a thread is changing this arena right now; give it a moment.
      if (get(*before, L.field("mutex")) != 0 && a.attempts < options.max_attempts) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      bool walked = w.walk_once(addr, *before, &a, &why);
      auto after = mem.read_bytes(addr, L.size);
      if (!after) return std::unexpected(after.error());
      ok = walked && same_state(*before, *after, L.field("mutex"));
      state = *after;
      if (!ok && why.empty()) why = "the arena changed while it was read";
    }
    --a.attempts;
    a.consistent = ok;
    if (!ok) heap.consistent = false;
    if (maps) w.heaps_of(*maps, &a);
    heap.arenas.push_back(a);
    uint64_t next = get(state, L.field("next"));
    if (next == target.main_arena || next == 0 || next % w.align != 0) break;
    addr = next;
  }

  auto& m = heap.totals;
  for (const auto& a : heap.arenas) {
    m.arena += a.system_mem;
    m.ordblks += 1 + a.bin_count;  // top always counts as one block
    m.smblks += a.fast_count;
    m.fsmblks += a.fast_bytes;
    m.fordblks += a.free_bytes();
    m.uordblks += a.in_use();
    if (a.is_main) m.keepcost = a.top_size;
  }
  m.hblks = prm.n_mmaps;
  m.hblkhd = prm.mmapped_mem;
  heap.chunks_visited = w.visited;
  heap.reads = mem.calls();
  heap.walk_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return heap;
}

}  // namespace sonde::memory
