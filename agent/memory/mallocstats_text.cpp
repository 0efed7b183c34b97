// /api/status/debugmallocstats: glibc's own view per arena, like
// malloc_stats()/malloc_info() would print inside the node: mallinfo2's
// fields, mp_'s counters and tunables, then each arena's non-empty bins with
// the chunk sizes seen in them, their count and bytes.
#include <cinttypes>
#include <cstdio>

#include "memory/heap_render.h"

namespace sonde::memory {

namespace {

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

// jemalloc's table: the summary, each arena in use, each small size class
// with regions in use (all arenas merged), as malloc_stats_print() would.
std::string jemalloc_text(const JemallocStats& j, pid_t pid) {
  std::string out = fmt("jemalloc %s of pid %d (%s), mallctl [injected call]\n", j.version.c_str(),
                        static_cast<int>(pid), j.library.c_str());
  out += "   " + describe_injected_call(j.call) + "\n";
  out += fmt("stats: allocated=%" PRIu64 " active=%" PRIu64 " metadata=%" PRIu64 " resident=%" PRIu64
             " mapped=%" PRIu64 " retained=%" PRIu64 " narenas=%u page=%" PRIu64 "\n",
             j.allocated, j.active, j.metadata, j.resident, j.mapped, j.retained, j.narenas, j.page);
  out += "\narenas in use:\n";
  out += "   arena  threads          active           dirty           muzzy          mapped        retained"
         "  small allocated  large allocated\n";
  for (const auto& a : j.arenas)
    out += fmt("   %5u  %7" PRIu64 "  %14" PRIu64 "  %14" PRIu64 "  %14" PRIu64 "  %14" PRIu64 "  %14" PRIu64
               "  %15" PRIu64 "  %15" PRIu64 "\n",
               a.index, a.nthreads, a.active, a.dirty, a.muzzy, a.mapped, a.retained, a.small_allocated,
               a.large_allocated);
  out += fmt("\nsmall size classes, all arenas merged (large allocations: %" PRIu64 " bytes):\n", j.large_allocated);
  out += "   bin        size     regions in use  bytes in use    slabs        nmalloc        ndalloc\n";
  for (const auto& b : j.bins) {
    if (b.curregs == 0 && b.nmalloc == 0) continue;
    out += fmt("   %3u  %10" PRIu64 "  %14" PRIu64 "  %14" PRIu64 "  %7" PRIu64 "  %13" PRIu64 "  %13" PRIu64 "\n",
               b.index, b.size, b.curregs, b.curregs * b.size, b.curslabs, b.nmalloc, b.ndalloc);
  }
  out += "(size classes never used are left out)\n\n";
  return out;
}

}  // namespace

std::string render_malloc_stats_text(const MallocStatsReport& r) {
  std::string out;
  for (const auto& n : r.notes) out += "Note: " + n + "\n";
  if (r.jemalloc) out += jemalloc_text(*r.jemalloc, r.pid);
  else if (!r.jemalloc_note.empty()) out += "jemalloc statistics not available: " + r.jemalloc_note + "\n\n";
  if (!r.glibc && r.glibc_injected) {
    const auto& t = r.glibc_injected->totals;
    out += fmt("glibc malloc of pid %d: mallinfo2() of %s [injected call]\n", static_cast<int>(r.pid),
               r.glibc_injected->libc_path.c_str());
    out += "   " + describe_injected_call(r.glibc_injected->call) + "\n";
    out += fmt("mallinfo2: arena=%" PRIu64 " ordblks=%" PRIu64 " smblks=%" PRIu64 " hblks=%" PRIu64 " hblkhd=%" PRIu64
               " usmblks=%" PRIu64 " fsmblks=%" PRIu64 " uordblks=%" PRIu64 " fordblks=%" PRIu64 " keepcost=%" PRIu64
               "\n",
               t.arena, t.ordblks, t.smblks, t.hblks, t.hblkhd, t.usmblks, t.fsmblks, t.uordblks, t.fordblks,
               t.keepcost);
    out += "(no per-arena table without libc's debug info: " + r.glibc_note + ")\n";
    return out;
  }
  if (!r.glibc) {
    out += "glibc malloc statistics not available: " + r.glibc_note + "\n";
    return out;
  }
  const auto& g = *r.glibc;
  const auto& t = g.totals;
  out += fmt("glibc %s malloc of pid %d, read-only walk [glibc walk] in %.1f ms (%" PRIu64
             " chunks visited, %" PRIu64 " reads)\n",
             g.target.version.c_str(), static_cast<int>(r.pid), g.walk_ms, g.chunks_visited, g.reads);
  out += fmt("mallinfo2: arena=%" PRIu64 " ordblks=%" PRIu64 " smblks=%" PRIu64 " hblks=%" PRIu64 " hblkhd=%" PRIu64
             " usmblks=%" PRIu64 " fsmblks=%" PRIu64 " uordblks=%" PRIu64 " fordblks=%" PRIu64 " keepcost=%" PRIu64 "\n",
             t.arena, t.ordblks, t.smblks, t.hblks, t.hblkhd, t.usmblks, t.fsmblks, t.uordblks, t.fordblks,
             t.keepcost);
  const auto& p = g.params;
  out += fmt("mp_: n_mmaps=%" PRIu64 " max_n_mmaps=%" PRIu64 " mmapped_mem=%" PRIu64 " max_mmapped_mem=%" PRIu64
             " mmap_threshold=%" PRIu64 " trim_threshold=%" PRIu64 " arena_max=%" PRIu64 " arena_test=%" PRIu64
             " tcache_bins=%" PRIu64 " tcache_count=%" PRIu64 " narenas=%" PRId64 "\n",
             p.n_mmaps, p.max_n_mmaps, p.mmapped_mem, p.max_mmapped_mem, p.mmap_threshold, p.trim_threshold,
             p.arena_max, p.arena_test, p.tcache_bins, p.tcache_count, p.narenas);
  for (const auto& a : g.arenas) {
    std::string threads = a.attached_threads >= 0 ? std::to_string(a.attached_threads) : std::string("?");
    out += fmt("\nArena %d%s at 0x%" PRIx64 ": threads=%s system=%" PRIu64 " max_system=%" PRIu64 " in_use=%" PRIu64
               " free=%" PRIu64 " top=%" PRIu64 " heaps=%zu%s\n",
               a.index, a.is_main ? " (main)" : "", a.address, threads.c_str(), a.system_mem, a.max_system_mem,
               a.in_use(), a.free_bytes(), a.top_size, a.heaps.size(), a.consistent ? "" : " (changed while read)");
    out += "   kind      bin    chunk size range        count           bytes\n";
    out += "   --------  ---  -------------------  ----------  --------------\n";
    for (const auto& b : a.bins)
      out += fmt("   %-8s  %3d  %8" PRIu64 "-%-10" PRIu64 "  %10" PRIu64 "  %14" PRIu64 "\n", b.kind.c_str(), b.index,
                 b.min_size, b.max_size, b.count, b.bytes);
    out += fmt("   %-8s  %3s  %8" PRIu64 "-%-10" PRIu64 "  %10d  %14" PRIu64 "\n", "top", "-", a.top_size, a.top_size,
               a.top ? 1 : 0, a.top_size);
  }
  out += "\n(tcache: chunks a thread keeps cached count as in use, as in mallinfo2)\n";
  return out;
}

}  // namespace sonde::memory
