// /api/status/heap?format=json: the same facts as the text, bytes as numbers,
// every summary figure with its method; absent facts are absent (no glibc
// object when there was no walk, and `glibc_note` says why).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "memory/heap_render.h"

namespace sonde::memory {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void kv(Writer& w, const char* k, uint64_t v) {
  w.Key(k);
  w.Uint64(v);
}
void kv(Writer& w, const char* k, int64_t v) {
  w.Key(k);
  w.Int64(v);
}
void kv(Writer& w, const char* k, const std::string& v) {
  w.Key(k);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

void glibc_json(Writer& w, const GlibcHeap& g) {
  w.StartObject();
  kv(w, "version", g.target.version);
  kv(w, "libc", g.target.libc_path);
  kv(w, "build_id", g.target.build_id);
  kv(w, "debug_file", g.target.debug_file);
  kv(w, "method", std::string(kGlibcWalk));
  w.Key("consistent");
  w.Bool(g.consistent);
  w.Key("walk_ms");
  w.Double(g.walk_ms);
  const auto& t = g.totals;
  w.Key("mallinfo2");
  w.StartObject();
  kv(w, "arena", t.arena);
  kv(w, "ordblks", t.ordblks);
  kv(w, "smblks", t.smblks);
  kv(w, "hblks", t.hblks);
  kv(w, "hblkhd", t.hblkhd);
  kv(w, "usmblks", t.usmblks);
  kv(w, "fsmblks", t.fsmblks);
  kv(w, "uordblks", t.uordblks);
  kv(w, "fordblks", t.fordblks);
  kv(w, "keepcost", t.keepcost);
  w.EndObject();
  w.Key("arenas");
  w.StartArray();
  for (const auto& a : g.arenas) {
    w.StartObject();
    kv(w, "index", static_cast<int64_t>(a.index));
    kv(w, "address", a.address);
    w.Key("main");
    w.Bool(a.is_main);
    kv(w, "system_mem", a.system_mem);
    kv(w, "in_use", a.in_use());
    kv(w, "free_bins", a.bin_bytes);
    kv(w, "free_fastbins", a.fast_bytes);
    kv(w, "top", a.top_size);
    if (a.attached_threads >= 0) kv(w, "attached_threads", a.attached_threads);
    w.Key("consistent");
    w.Bool(a.consistent);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void call_json(Writer& w, const target::CallRecord& c) {
  w.Key("injected_call");
  w.StartObject();
  kv(w, "tid", static_cast<int64_t>(c.tid));
  kv(w, "thread", c.thread_why);
  kv(w, "calls", static_cast<int64_t>(c.calls));
  w.Key("stopped_ms");
  w.Double(static_cast<double>(c.stopped_ns) / 1e6);
  w.Key("away_ms");
  w.Double(static_cast<double>(c.away_ns) / 1e6);
  w.EndObject();
}

void mallinfo_json(Writer& w, const Mallinfo2& t) {
  w.Key("mallinfo2");
  w.StartObject();
  kv(w, "arena", t.arena);
  kv(w, "ordblks", t.ordblks);
  kv(w, "smblks", t.smblks);
  kv(w, "hblks", t.hblks);
  kv(w, "hblkhd", t.hblkhd);
  kv(w, "usmblks", t.usmblks);
  kv(w, "fsmblks", t.fsmblks);
  kv(w, "uordblks", t.uordblks);
  kv(w, "fordblks", t.fordblks);
  kv(w, "keepcost", t.keepcost);
  w.EndObject();
}

void jemalloc_json(Writer& w, const JemallocStats& j) {
  w.StartObject();
  kv(w, "library", j.library);
  kv(w, "version", j.version);
  kv(w, "method", std::string(kInjectedCall));
  kv(w, "allocated", j.allocated);
  kv(w, "active", j.active);
  kv(w, "resident", j.resident);
  kv(w, "mapped", j.mapped);
  kv(w, "retained", j.retained);
  kv(w, "metadata", j.metadata);
  kv(w, "narenas", static_cast<uint64_t>(j.narenas));
  call_json(w, j.call);
  w.EndObject();
}

}  // namespace

std::string render_heap_json(const HeapReport& r) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  kv(w, "pid", static_cast<int64_t>(r.pid));
  const auto& p = r.pmem;
  w.Key("pmem");
  w.StartObject();
  kv(w, "rss", p.rss);
  kv(w, "vms", p.vms);
  kv(w, "shared", p.shared);
  kv(w, "text", p.text);
  kv(w, "lib", p.lib);
  kv(w, "data", p.data);
  kv(w, "dirty", p.dirty);
  w.EndObject();
  const auto& s = r.rollup;
  w.Key("smaps_rollup");
  w.StartObject();
  kv(w, "rss", s.rss);
  kv(w, "pss", s.pss);
  kv(w, "pss_anon", s.pss_anon);
  kv(w, "pss_file", s.pss_file);
  kv(w, "pss_shmem", s.pss_shmem);
  kv(w, "shared_clean", s.shared_clean);
  kv(w, "shared_dirty", s.shared_dirty);
  kv(w, "private_clean", s.private_clean);
  kv(w, "private_dirty", s.private_dirty);
  kv(w, "anonymous", s.anonymous);
  kv(w, "swap", s.swap);
  kv(w, "swap_pss", s.swap_pss);
  w.Key("from_kernel");
  w.Bool(r.rollup_from_kernel);
  w.EndObject();
  w.Key("allocator");
  w.StartObject();
  kv(w, "name", r.allocator.name);
  if (!r.allocator.path.empty()) kv(w, "path", r.allocator.path);
  w.EndObject();
  if (r.glibc) {
    w.Key("glibc");
    glibc_json(w, *r.glibc);
  } else {
    kv(w, "glibc_note", r.glibc_note);
  }
  if (r.glibc_injected) {
    w.Key("glibc_injected");
    w.StartObject();
    kv(w, "libc", r.glibc_injected->libc_path);
    kv(w, "method", std::string(kInjectedCall));
    mallinfo_json(w, r.glibc_injected->totals);
    call_json(w, r.glibc_injected->call);
    w.EndObject();
  }
  if (r.jemalloc) {
    w.Key("jemalloc");
    jemalloc_json(w, *r.jemalloc);
  } else if (!r.jemalloc_note.empty()) {
    kv(w, "jemalloc_note", r.jemalloc_note);
  }
  w.Key("notes");
  w.StartArray();
  for (const auto& n : r.notes) w.String(n.c_str());
  w.EndArray();
  w.Key("summary");
  w.StartArray();
  for (const auto& l : r.summary) {
    w.StartObject();
    kv(w, "key", l.key);
    kv(w, "name", l.name);
    if (l.unit == "percent") {
      w.Key("percent");
      w.Double(l.percent);
    } else {
      kv(w, "bytes", l.bytes);
    }
    kv(w, "method", l.method);
    w.Key("summed");
    w.Bool(l.summed);
    w.EndObject();
  }
  w.EndArray();
  kv(w, "total_accounted", r.total_accounted);
  kv(w, "unaccounted", r.unaccounted);
  w.Key("top_mappings");
  w.StartArray();
  for (const auto& m : r.top) {
    w.StartObject();
    kv(w, "start", m.start);
    kv(w, "end", m.end);
    kv(w, "perms", m.perms);
    kv(w, "size", m.size);
    kv(w, "rss", m.rss);
    kv(w, "pss", m.pss);
    kv(w, "anonymous", m.anonymous);
    kv(w, "swap", m.swap);
    kv(w, "kind", m.kind);
    kv(w, "label", m.label);
    kv(w, "method", m.method);
    if (m.tid) kv(w, "tid", static_cast<int64_t>(m.tid));
    if (m.arena >= 0) kv(w, "arena", static_cast<int64_t>(m.arena));
    w.EndObject();
  }
  w.EndArray();
  kv(w, "mappings", r.mappings);
  w.Key("took_ms");
  w.Double(r.took_ms);
  w.EndObject();
  return sb.GetString();
}

}  // namespace sonde::memory
