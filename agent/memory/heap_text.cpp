// The seed's /api/status/heap shape: a pmem(...) line, a "Memory use
// summary" of named figures padded to one column with the totals last, then
// sections. Each figure's name carries the method that produced it.
#include <algorithm>
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

struct Row {
  std::string name, value;
};

// "   name   : value" with names padded to the longest; numbers (the summary)
// right-aligned like the seed's, sentences left-aligned.
void rows(std::string& out, const std::vector<Row>& rs, bool right = true) {
  size_t nw = 0, vw = 0;
  for (const auto& r : rs) {
    nw = std::max(nw, r.name.size());
    vw = std::max(vw, r.value.size());
  }
  for (const auto& r : rs)
    out += "   " + r.name + std::string(nw - r.name.size(), ' ') + ": " +
           (right ? std::string(vw - r.value.size(), ' ') : std::string()) + r.value + "\n";
}

}  // namespace

std::string describe_injected_call(const target::CallRecord& c) {
  return fmt("injected call on %s: %d call(s), thread stopped %.3f ms, away from its own code %.3f ms",
             c.thread_why.c_str(), c.calls, static_cast<double>(c.stopped_ns) / 1e6,
             static_cast<double>(c.away_ns) / 1e6);
}

std::string render_heap_text(const HeapReport& r) {
  const auto& p = r.pmem;
  std::string out = fmt("Process memory information: pmem(rss=%" PRIu64 ", vms=%" PRIu64 ", shared=%" PRIu64
                        ", text=%" PRIu64 ", lib=%" PRIu64 ", data=%" PRIu64 ", dirty=%" PRIu64 ")\n",
                        p.rss, p.vms, p.shared, p.text, p.lib, p.data, p.dirty);
  const auto& s = r.rollup;
  out += fmt("Process memory (smaps_rollup%s): rss=%" PRIu64 ", pss=%" PRIu64 ", pss_anon=%" PRIu64
             ", pss_file=%" PRIu64 ", pss_shmem=%" PRIu64 ", anonymous=%" PRIu64 ", private_dirty=%" PRIu64
             ", swap=%" PRIu64 ", swap_pss=%" PRIu64 "\n",
             r.rollup_from_kernel ? "" : ", summed from smaps", s.rss, s.pss, s.pss_anon, s.pss_file, s.pss_shmem,
             s.anonymous, s.private_dirty, s.swap, s.swap_pss);
  out += "\n";
  if (r.glibc) {
    const auto& g = *r.glibc;
    out += fmt("Allocator: glibc %s malloc, %zu arena(s), walked read-only in %.1f ms (libc %s, debug info %s)\n",
               g.target.version.c_str(), g.arenas.size(), g.walk_ms, g.target.libc_path.c_str(),
               g.target.debug_file.c_str());
  } else if (r.glibc_injected) {
    out += "Allocator: glibc malloc, mallinfo2() of " + r.glibc_injected->libc_path + " by " +
           describe_injected_call(r.glibc_injected->call) + " (the read-only walk needs libc's debug info: " +
           r.glibc_note + ")\n";
  } else {
    out += "Allocator: glibc malloc figures not available: " + r.glibc_note + "\n";
  }
  if (r.jemalloc) {
    const auto& j = *r.jemalloc;
    out += "Allocator: jemalloc " + j.version + " (" + j.library + "), " + std::to_string(j.narenas) +
           " arena(s), mallctl by " + describe_injected_call(j.call) + "\n";
  } else if (!r.jemalloc_note.empty()) {
    out += "Allocator: jemalloc figures not available: " + r.jemalloc_note + "\n";
  }
  for (const auto& n : r.notes) out += "Note: " + n + "\n";
  out += "\nMemory use summary:\n";
  std::vector<Row> rs;
  for (const auto& l : r.summary) {
    std::string name = l.name + " [" + l.method + "]";
    std::string value = l.unit == "percent" ? fmt("%.2f%%", l.percent) : std::to_string(l.bytes);
    rs.push_back({name, value});
  }
  rs.push_back({"**Total accounted for memory**", std::to_string(r.total_accounted)});
  rs.push_back({"**Unaccounted for memory (rss-total_accounted_for)**", std::to_string(r.unaccounted)});
  rows(out, rs);

  if (r.glibc) {
    out += "\nglibc arenas:\n";
    std::vector<Row> ar;
    for (const auto& a : r.glibc->arenas) {
      std::string name = fmt("arena %d%s at 0x%" PRIx64, a.index, a.is_main ? " (main)" : "", a.address);
      std::string threads = a.attached_threads >= 0 ? std::to_string(a.attached_threads) : std::string("?");
      ar.push_back({name, fmt("system %" PRIu64 ", in use %" PRIu64 ", free %" PRIu64 " (bins %" PRIu64
                              ", fastbins %" PRIu64 ", top %" PRIu64 "), threads %s%s",
                              a.system_mem, a.in_use(), a.free_bytes(), a.bin_bytes, a.fast_bytes, a.top_size,
                              threads.c_str(), a.consistent ? "" : ", changing while read")});
    }
    rows(out, ar, false);
  }

  out += fmt("\nTop mappings (by resident size, %zu of %" PRIu64 "):\n", r.top.size(), r.mappings);
  std::vector<Row> tm;
  for (const auto& m : r.top) {
    std::string name = fmt("%012" PRIx64 "-%012" PRIx64 " %s %s", m.start, m.end, m.perms.c_str(),
                           m.label.empty() ? m.kind.c_str() : m.label.c_str());
    if (!m.label.empty() && m.label.find(m.kind) == std::string::npos) name += " (" + m.kind + ")";
    name += " [" + m.method + "]";
    tm.push_back({name, fmt("rss %" PRIu64 ", size %" PRIu64 ", swap %" PRIu64, m.rss, m.size, m.swap)});
  }
  rows(out, tm, false);
  return out;
}

}  // namespace sonde::memory
