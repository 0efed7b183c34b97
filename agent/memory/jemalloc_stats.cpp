#include "memory/jemalloc_stats.h"

#include <cstring>

#include "memory/remote_memory.h"
#include "target/node_symbol.h"

namespace sonde::memory {

namespace {

// The call's data area: mallctl(name, &old, &oldlen, &new_value, newlen).
constexpr size_t kOldLen = 0, kOld = 8, kNew = 16, kName = 64, kArea = 256;
constexpr uint64_t kSentinel = 0xa5a5a5a5a5a5a5a5ull;

// One mallctl name -> value exchange on an open session.
class Mallctl {
 public:
  Mallctl(target::Session& s, uint64_t fn) : s_(s), fn_(fn) {}

  // The value of `name` (`size` bytes: 1 bool, 4 unsigned, 8 size_t/uint64_t
  // or a pointer), or nullopt when jemalloc refused it (ENOENT and the like).
  // `write` (8 bytes) is passed as the new value (for "epoch"). A failed call
  // (thread gone, timeout) is an error: the session is over.
  Result<std::optional<uint64_t>> get(const std::string& name, size_t size, std::optional<uint64_t> write = {}) {
    if (name.size() + 1 > kArea - kName)
      return fail(ErrorCode::internal, "mallctl name too long: " + name);
    std::vector<uint8_t> d(kArea, 0);
    uint64_t len = size, sentinel = kSentinel, nv = write.value_or(0);
    std::memcpy(d.data() + kOldLen, &len, 8);
    std::memcpy(d.data() + kOld, &sentinel, 8);
    std::memcpy(d.data() + kNew, &nv, 8);
    std::memcpy(d.data() + kName, name.c_str(), name.size() + 1);
    uint64_t base = s_.data_address();
    std::vector<uint64_t> args = {base + kName, base + kOld, base + kOldLen, write ? base + kNew : 0,
                                  write ? 8u : 0u};
    if (auto r = s_.call(fn_, args, d, "mallctl(\"" + name + "\")"); !r) return std::unexpected(r.error());
    uint64_t got_len = 0, v = 0;
    std::memcpy(&got_len, d.data() + kOldLen, 8);
    std::memcpy(&v, d.data() + kOld, 8);
    uint64_t mask = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    if (got_len != size || (v & mask) == (kSentinel & mask)) return std::optional<uint64_t>();
    return std::optional<uint64_t>(v & mask);
  }

  // As get(), but a value jemalloc must have: its absence is an error.
  Result<uint64_t> need(const std::string& name, size_t size, std::optional<uint64_t> write = {}) {
    auto v = get(name, size, write);
    if (!v) return std::unexpected(v.error());
    if (!*v) return fail(ErrorCode::not_found, "jemalloc's mallctl(\"" + name + "\") gave no value");
    return **v;
  }

 private:
  target::Session& s_;
  uint64_t fn_;
};

// Reads arena `i` (or the merged one); false when jemalloc has no such arena in use.
Result<bool> read_arena(Mallctl& m, unsigned i, uint64_t page, JemallocArena* a) {
  std::string p = "stats.arenas." + std::to_string(i) + ".";
  auto nthreads = m.get(p + "nthreads", 4);
  if (!nthreads) return std::unexpected(nthreads.error());
  if (!*nthreads) return false;
  a->index = i;
  a->nthreads = **nthreads;
  struct Field {
    const char* name;
    uint64_t* into;
    uint64_t scale;
  } fields[] = {{"pactive", &a->active, page},          {"pdirty", &a->dirty, page},
                {"pmuzzy", &a->muzzy, page},            {"mapped", &a->mapped, 1},
                {"retained", &a->retained, 1},          {"small.allocated", &a->small_allocated, 1},
                {"large.allocated", &a->large_allocated, 1}};
  for (auto& f : fields) {
    auto v = m.get(p + f.name, 8);
    if (!v) return std::unexpected(v.error());
    if (*v) *f.into = **v * f.scale;
  }
  return true;
}

}  // namespace

Result<JemallocStats> read_jemalloc_stats(pid_t pid, const target::Maps& maps, const std::string& library,
                                          const JemallocOptions& options) {
  auto fn = target::find_node_function(pid, maps, "mallctl", library);
  if (!fn) return std::unexpected(fn.error());
  JemallocStats out;
  out.library = fn->module;
  target::RemoteCallOptions o;
  o.timeout = options.timeout;
  o.purpose = options.detailed ? "jemalloc statistics, detailed" : "jemalloc statistics";
  auto rec = target::run_remote_calls(pid, o, [&](target::Session& s) -> Result<void> {
    Mallctl m(s, fn->address);
    auto stats = m.get("config.stats", 1);
    if (!stats) return std::unexpected(stats.error());
    if (*stats && **stats == 0)
      return fail(ErrorCode::not_found, "this jemalloc was built without statistics (--disable-stats): "
                                        "mallctl has no stats.* figures");
    // Statistics are a snapshot refreshed by writing "epoch".
    if (auto e = m.need("epoch", 8, 1); !e) return std::unexpected(e.error());
    struct Field {
      const char* name;
      uint64_t* into;
    } fields[] = {{"stats.allocated", &out.allocated}, {"stats.active", &out.active},
                  {"stats.resident", &out.resident},   {"stats.mapped", &out.mapped},
                  {"stats.retained", &out.retained},   {"stats.metadata", &out.metadata}};
    for (auto& f : fields) {
      auto v = m.need(f.name, 8);
      if (!v) return std::unexpected(v.error());
      *f.into = *v;
    }
    if (auto v = m.get("version", 8); v && *v) {
      if (auto text = RemoteMemory(pid).read_cstring(**v, 128)) out.version = *text;
    } else if (!v) {
      return std::unexpected(v.error());
    }
    auto narenas = m.need("arenas.narenas", 4);
    if (!narenas) return std::unexpected(narenas.error());
    out.narenas = static_cast<unsigned>(*narenas);
    if (!options.detailed) return {};

    auto page = m.need("arenas.page", 8);
    if (!page) return std::unexpected(page.error());
    out.page = *page;
    for (unsigned i = 0; i < out.narenas && i < options.max_arenas; ++i) {
      JemallocArena a;
      auto used = read_arena(m, i, out.page, &a);
      if (!used) return std::unexpected(used.error());
      if (*used) out.arenas.push_back(a);
    }
    // MALLCTL_ARENAS_ALL (4096): every arena merged.
    const std::string all = "stats.arenas.4096.";
    if (auto v = m.get(all + "large.allocated", 8); v && *v) out.large_allocated = **v;
    else if (!v) return std::unexpected(v.error());
    auto nbins = m.need("arenas.nbins", 4);
    if (!nbins) return std::unexpected(nbins.error());
    for (unsigned j = 0; j < *nbins && j < 256; ++j) {
      JemallocBin b;
      b.index = j;
      std::string bp = all + "bins." + std::to_string(j) + ".";
      struct BinField {
        std::string name;
        uint64_t* into;
      } bf[] = {{"arenas.bin." + std::to_string(j) + ".size", &b.size},
                {bp + "curregs", &b.curregs},
                {bp + "curslabs", &b.curslabs},
                {bp + "nmalloc", &b.nmalloc},
                {bp + "ndalloc", &b.ndalloc}};
      for (auto& f : bf) {
        auto v = m.get(f.name, 8);
        if (!v) return std::unexpected(v.error());
        if (*v) *f.into = **v;
      }
      out.bins.push_back(b);
    }
    out.detailed = true;
    return {};
  });
  if (!rec) return std::unexpected(rec.error());
  out.call = *rec;
  return out;
}

}  // namespace sonde::memory
