#include "memory/mapping_classes.h"

namespace sonde::memory {

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// pthread stacks sit right above a small PROT_NONE guard (one page by
// default). Arena heaps have their PROT_NONE reserve above them, and a
// reserve below a heap is tens of MiB: the size bound tells them apart.
constexpr uint64_t kMaxGuard = 64 * 1024;

bool is_shared_memory(const target::Mapping& m) {
  if (!m.shared) return false;
  if (m.path.empty() || starts_with(m.path, "/dev/shm/") || starts_with(m.path, "/SYSV") ||
      starts_with(m.path, "/memfd:") || starts_with(m.path, "[anon_shmem"))
    return true;
  return false;
}

bool looks_like_library(const std::string& path) {
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.find(".so") != std::string::npos;
}

bool is_anonymous(const target::Mapping& m) {
  return m.path.empty() || starts_with(m.path, "[anon:");
}

}  // namespace

const char* kind_name(MappingKind k) {
  switch (k) {
    case MappingKind::heap: return "heap";
    case MappingKind::arena_heap: return "arena heap";
    case MappingKind::mmapped_chunk: return "mmapped chunk";
    case MappingKind::thread_stack: return "thread stack";
    case MappingKind::library: return "library";
    case MappingKind::file: return "file";
    case MappingKind::shared_memory: return "shared memory";
    case MappingKind::anonymous: return "anonymous";
    case MappingKind::kernel: return "kernel";
  }
  return "?";
}

std::vector<ClassifiedMapping> classify_mappings(const std::vector<SmapsEntry>& entries, pid_t pid,
                                                 const std::vector<ThreadSp>& threads,
                                                 const std::vector<KnownRange>& known,
                                                 const std::string& exe) {
  std::vector<ClassifiedMapping> out;
  out.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const auto& m = e.map;
    ClassifiedMapping c;
    c.entry = &e;
    c.method = "procfs";
    c.label = m.path;
    if (m.path == "[heap]") {
      c.kind = MappingKind::heap;
      c.label = "[heap] (glibc main arena)";
    } else if (m.path == "[stack]") {
      c.kind = MappingKind::thread_stack;
      c.tid = pid;
      c.label = "thread stack (tid " + std::to_string(pid) + ", main thread)";
    } else if (m.path == "[vdso]" || m.path == "[vvar]" || m.path == "[vsyscall]" || starts_with(m.path, "[vvar")) {
      c.kind = MappingKind::kernel;
    } else {
      bool done = false;
      for (const auto& k : known) {
        if (k.start < m.end && k.end > m.start) {
          c.kind = k.kind;
          c.arena = k.arena;
          c.method = "glibc walk";
          c.label = k.kind == MappingKind::arena_heap ? "glibc arena " + std::to_string(k.arena) + " heap"
                                                      : "glibc mmapped chunk";
          done = true;
          break;
        }
      }
      if (!done && is_shared_memory(m)) {
        c.kind = MappingKind::shared_memory;
        if (c.label.empty()) c.label = "shared anonymous";
        done = true;
      }
      if (!done && !is_anonymous(m)) {
        c.kind = (m.path == exe || looks_like_library(m.path)) ? MappingKind::library : MappingKind::file;
        done = true;
      }
      if (!done) {
        for (const auto& t : threads) {
          if (t.sp && m.contains(t.sp)) {
            c.kind = MappingKind::thread_stack;
            c.tid = t.tid;
            c.label = "thread stack (tid " + std::to_string(t.tid) + ")";
            c.method = "procfs sp";
            done = true;
            break;
          }
        }
      }
      if (!done && i > 0 && m.writable && !m.shared) {
        const auto& prev = entries[i - 1].map;
        if (prev.end == m.start && !prev.readable && !prev.writable && !prev.executable && is_anonymous(prev) &&
            prev.end - prev.start <= kMaxGuard) {
          c.kind = MappingKind::thread_stack;
          c.label = "thread stack (tid unknown: running, or a cached stack)";
          c.method = "guard page";
          done = true;
        }
      }
      if (!done) {
        c.kind = MappingKind::anonymous;
        if (c.label.empty()) c.label = "anonymous";
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace sonde::memory
