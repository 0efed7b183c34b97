#include "memory/heap_report.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>

#include "memory/glibc_mmapped.h"
#include "memory/thread_stacks.h"
#include "target/procfs.h"

namespace sonde::memory {

namespace {

std::string exe_of(pid_t pid) {
  char buf[PATH_MAX];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

target::Maps maps_of(const std::vector<SmapsEntry>& entries) {
  target::Maps maps;
  maps.mappings.reserve(entries.size());
  for (const auto& e : entries) maps.mappings.push_back(e.map);
  return maps;
}

std::string perms_of(const target::Mapping& m) {
  return std::string() + (m.readable ? 'r' : '-') + (m.writable ? 'w' : '-') + (m.executable ? 'x' : '-') +
         (m.shared ? 's' : 'p');
}

std::string other_allocator_note(const AllocatorGuess& a) {
  if (a.name == "jemalloc")
    return "malloc is served by jemalloc (" + a.path + "), not by glibc: glibc's arenas are nearly unused";
  return "malloc is served by " + a.name + " (" + a.path + "), not by glibc: " + a.name +
         "'s own figures are not read (sonde reads glibc's and jemalloc's); its memory shows under "
         "\"anonymous not in the heap\", and glibc's arenas are nearly unused";
}

std::string inject_needed_note(const std::string& what) {
  return what + " need an injected call into the node: start the agent (or `sonde heap --pid`) with "
                "--allow-inject to read them (it runs that function on one waiting thread of the node; see "
                "README, Memory)";
}

// jemalloc by mallctl when allowed, else the reason. Fills `stats` or `note`.
void read_jemalloc(pid_t pid, const target::Maps& maps, const AllocatorGuess& a, const InjectOptions& inject,
                   bool detailed, std::optional<JemallocStats>* stats, std::string* note) {
  if (a.name != "jemalloc") return;
  if (!inject.allowed) {
    *note = inject_needed_note("jemalloc's figures (stats.allocated, active, resident, per arena and size class)");
    return;
  }
  JemallocOptions o;
  o.detailed = detailed;
  o.timeout = inject.timeout;
  auto r = read_jemalloc_stats(pid, maps, a.path, o);
  if (!r) {
    *note = "jemalloc's figures could not be read by an injected call: " + r.error().message;
    return;
  }
  *stats = std::move(*r);
}

// glibc's mallinfo2() by an injected call when the walk had no debug info.
void read_glibc_injected(pid_t pid, const target::Maps& maps, const AllocatorGuess& a, const InjectOptions& inject,
                         const std::optional<GlibcHeap>& walked, std::optional<InjectedMallinfo>* out,
                         std::string* note) {
  if (walked || a.name != "glibc" || !find_libc(maps)) return;
  if (!inject.allowed) {
    *note += "; or, without it, " + inject_needed_note("mallinfo2()'s figures");
    return;
  }
  auto r = injected_mallinfo2(pid, maps, inject.timeout);
  if (!r) {
    *note += "; the injected mallinfo2() call failed too: " + r.error().message;
    return;
  }
  *out = std::move(*r);
}

// Looks up glibc and walks it; fills `glibc` or `note`.
void read_glibc(pid_t pid, const target::Maps& maps, const GlibcOptions& options, std::optional<GlibcHeap>* glibc,
                std::string* note) {
  auto located = locate_glibc(pid, maps, options);
  if (!located) {
    *note = located.error().message;
    return;
  }
  auto walked = walk_glibc(pid, *located);
  if (!walked) {
    *note = "the glibc arena walk failed: " + walked.error().message;
    return;
  }
  *glibc = std::move(*walked);
}

}  // namespace

Result<MallocStatsReport> build_malloc_stats(pid_t pid, const GlibcOptions& options, const InjectOptions& inject) {
  MallocStatsReport r;
  r.pid = pid;
  auto maps = target::read_maps(pid);
  if (!maps) return std::unexpected(maps.error());
  r.allocator = guess_allocator(*maps);
  if (r.allocator.name != "glibc") r.notes.push_back(other_allocator_note(r.allocator));
  read_glibc(pid, *maps, options, &r.glibc, &r.glibc_note);
  read_glibc_injected(pid, *maps, r.allocator, inject, r.glibc, &r.glibc_injected, &r.glibc_note);
  read_jemalloc(pid, *maps, r.allocator, inject, true, &r.jemalloc, &r.jemalloc_note);
  if (r.glibc && !r.glibc->consistent)
    r.notes.push_back("some arenas changed on every read (the node was allocating): their figures are approximate");
  return r;
}

Result<HeapReport> build_heap_report(pid_t pid, const HeapOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  HeapReport r;
  r.pid = pid;
  auto pm = read_proc_memory(pid);
  if (!pm) return std::unexpected(pm.error());
  r.pmem = pm->pmem;
  r.rollup = pm->rollup;
  r.rollup_from_kernel = pm->rollup_from_kernel;
  r.mappings = pm->mappings.size();
  target::Maps maps = maps_of(pm->mappings);
  r.allocator = guess_allocator(maps);
  if (r.allocator.name != "glibc") r.notes.push_back(other_allocator_note(r.allocator));
  read_glibc(pid, maps, options.glibc, &r.glibc, &r.glibc_note);
  read_glibc_injected(pid, maps, r.allocator, options.inject, r.glibc, &r.glibc_injected, &r.glibc_note);
  read_jemalloc(pid, maps, r.allocator, options.inject, false, &r.jemalloc, &r.jemalloc_note);

  // Ranges whose owner the walk knows: thread arenas' heaps, mmapped chunks.
  std::vector<KnownRange> known;
  if (r.glibc) {
    for (const auto& a : r.glibc->arenas)
      for (const auto& h : a.heaps)
        known.push_back({h.start, h.start + std::max(h.size, h.mprotect_size), MappingKind::arena_heap, a.index});
    if (!r.glibc->consistent)
      r.notes.push_back("some arenas changed on every read (the node was allocating): glibc figures are approximate");
    if (r.allocator.name == "glibc") {
      auto chunks = find_mmapped_chunks(pid, pm->mappings, known, static_cast<uint64_t>(target::page_size()));
      r.mmapped_chunks_found = chunks.count;
      r.mmapped_chunk_bytes_found = chunks.bytes;
      known.insert(known.end(), chunks.ranges.begin(), chunks.ranges.end());
    }
  }
  auto classified = classify_mappings(pm->mappings, pid, read_thread_sps(pid), known, exe_of(pid));

  uint64_t rss[9] = {};
  uint64_t stacks = 0;
  for (const auto& c : classified) {
    rss[static_cast<int>(c.kind)] += c.entry->rss;
    if (c.kind == MappingKind::thread_stack) ++stacks;
  }
  auto rss_of = [&](MappingKind k) { return static_cast<int64_t>(rss[static_cast<int>(k)]); };

  auto& s = r.summary;
  if (r.glibc) {
    const auto& g = *r.glibc;
    uint64_t bins = 0, fast = 0, top = 0;
    for (const auto& a : g.arenas) {
      bins += a.bin_bytes;
      fast += a.fast_bytes;
      top += a.top_size;
    }
    s.push_back({"glibc_in_use", "glibc malloc in use (mallinfo2 uordblks)", static_cast<int64_t>(g.totals.uordblks), kGlibcWalk});
    s.push_back({"glibc_free_bins", "glibc free in bins", static_cast<int64_t>(bins), kGlibcWalk});
    s.push_back({"glibc_free_fastbins", "glibc free in fastbins (fsmblks)", static_cast<int64_t>(fast), kGlibcWalk});
    s.push_back({"glibc_top", "glibc top chunks (free, at each heap's end)", static_cast<int64_t>(top), kGlibcWalk});
    s.push_back({"glibc_mmapped", "glibc mmapped chunks (hblkhd, " + std::to_string(g.totals.hblks) + " chunks)",
                 static_cast<int64_t>(g.totals.hblkhd), kGlibcWalk});
    SummaryLine frag{"glibc_fragmentation", "glibc fragmentation (free in bins+fastbins / (in use + those))", 0,
                     kGlibcWalk, false, "percent"};
    uint64_t denom = g.totals.uordblks + bins + fast;
    frag.percent = denom ? 100.0 * static_cast<double>(bins + fast) / static_cast<double>(denom) : 0;
    s.push_back(frag);
    s.push_back({"glibc_heap_resident", "glibc heap mappings resident (not summed)",
                 rss_of(MappingKind::heap) + rss_of(MappingKind::arena_heap) + rss_of(MappingKind::mmapped_chunk),
                 kProcfs, false});
  } else if (r.glibc_injected) {
    // mallinfo2() from inside: the totals only (no arena, bin or heap ranges).
    const auto& t = r.glibc_injected->totals;
    uint64_t fast = t.fsmblks, other = t.fordblks > t.fsmblks ? t.fordblks - t.fsmblks : 0;
    s.push_back({"glibc_in_use", "glibc malloc in use (mallinfo2 uordblks)", static_cast<int64_t>(t.uordblks),
                 kInjectedCall});
    s.push_back({"glibc_free", "glibc free in bins and top chunks (fordblks - fsmblks)", static_cast<int64_t>(other),
                 kInjectedCall});
    s.push_back({"glibc_free_fastbins", "glibc free in fastbins (fsmblks)", static_cast<int64_t>(fast), kInjectedCall});
    s.push_back({"glibc_mmapped", "glibc mmapped chunks (hblkhd, " + std::to_string(t.hblks) + " chunks)",
                 static_cast<int64_t>(t.hblkhd), kInjectedCall});
    SummaryLine frag{"glibc_fragmentation", "glibc fragmentation (free in bins+fastbins / (in use + those))", 0,
                     kInjectedCall, false, "percent"};
    uint64_t free_bins = t.fordblks > t.keepcost ? t.fordblks - t.keepcost : 0;
    uint64_t denom = t.uordblks + free_bins;
    frag.percent = denom ? 100.0 * static_cast<double>(free_bins) / static_cast<double>(denom) : 0;
    s.push_back(frag);
    s.push_back({"glibc_heap_resident", "glibc heap mappings resident ([heap]; not summed)", rss_of(MappingKind::heap),
                 kProcfs, false});
    r.notes.push_back("glibc figures from mallinfo2() run in the node (no libc debug info): no per-arena table, and "
                      "thread arenas' heaps and mmapped chunks cannot be told apart from other anonymous memory, so "
                      "they count under \"anonymous not in the heap\" too");
  } else {
    s.push_back({"heap_resident", "malloc heap ([heap]) resident", rss_of(MappingKind::heap), kProcfs});
  }
  int64_t anon_other = rss_of(MappingKind::anonymous);
  std::string anon_name = "anonymous not in the heap";
  if (r.jemalloc) {
    // jemalloc's resident bytes partitioned: allocated, metadata, the rest
    // (dirty pages kept for reuse, free space in slabs). They live in
    // anonymous mappings, so they come out of that figure.
    const auto& j = *r.jemalloc;
    int64_t resident = static_cast<int64_t>(j.resident);
    int64_t cached = resident - static_cast<int64_t>(j.allocated) - static_cast<int64_t>(j.metadata);
    s.push_back({"jemalloc_allocated", "jemalloc allocated (stats.allocated)", static_cast<int64_t>(j.allocated),
                 kInjectedCall});
    s.push_back({"jemalloc_metadata", "jemalloc metadata (stats.metadata)", static_cast<int64_t>(j.metadata),
                 kInjectedCall});
    s.push_back({"jemalloc_free", "jemalloc free/cached (resident - allocated - metadata)", std::max<int64_t>(cached, 0),
                 kInjectedCall});
    SummaryLine frag{"jemalloc_fragmentation", "jemalloc fragmentation ((active - allocated) / active)", 0,
                     kInjectedCall, false, "percent"};
    frag.percent = j.active ? 100.0 * static_cast<double>(j.active - std::min(j.active, j.allocated)) /
                                  static_cast<double>(j.active)
                            : 0;
    s.push_back(frag);
    s.push_back({"jemalloc_active", "jemalloc active (stats.active; not summed)", static_cast<int64_t>(j.active),
                 kInjectedCall, false});
    s.push_back({"jemalloc_resident", "jemalloc resident (stats.resident; not summed)", resident, kInjectedCall, false});
    s.push_back({"jemalloc_mapped", "jemalloc mapped (stats.mapped; not summed)", static_cast<int64_t>(j.mapped),
                 kInjectedCall, false});
    s.push_back({"jemalloc_retained", "jemalloc retained (stats.retained; not summed)", static_cast<int64_t>(j.retained),
                 kInjectedCall, false});
    anon_other = std::max<int64_t>(anon_other - std::max<int64_t>(resident, 0), 0);
    anon_name += " (minus jemalloc resident)";
  }
  s.push_back({"thread_stacks", "thread stacks (" + std::to_string(stacks) + " found)", rss_of(MappingKind::thread_stack), kProcfs});
  s.push_back({"libraries", "file mappings: libraries and executable", rss_of(MappingKind::library), kProcfs});
  s.push_back({"other_files", "file mappings: other files", rss_of(MappingKind::file), kProcfs});
  s.push_back({"anonymous_other", anon_name, anon_other, kProcfs});
  s.push_back({"shared_memory", "shared memory", rss_of(MappingKind::shared_memory), kProcfs});
  for (const auto& l : s)
    if (l.summed) r.total_accounted += l.bytes;
  r.unaccounted = static_cast<int64_t>(r.pmem.rss) - r.total_accounted;

  std::vector<const ClassifiedMapping*> order;
  for (const auto& c : classified) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(),
                   [](const ClassifiedMapping* a, const ClassifiedMapping* b) { return a->entry->rss > b->entry->rss; });
  for (size_t i = 0; i < order.size() && i < options.top; ++i) {
    const auto& c = *order[i];
    const auto& e = *c.entry;
    r.top.push_back({e.map.start, e.map.end, perms_of(e.map), e.size, e.rss, e.pss, e.anonymous, e.swap,
                     kind_name(c.kind), c.label, c.method, c.tid, c.arena});
  }
  r.took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace sonde::memory
