#include "python/py_threads.h"

#include <unordered_set>

namespace sonde::python {

namespace {

constexpr int kMaxInterpreters = 64;
constexpr int kMaxThreads = 4096;

Result<uint64_t> read_ptr(const memory::RemoteMemory& mem, uint64_t base, long offset) {
  if (offset < 0) return fail(ErrorCode::internal, "field missing in this version's layout");
  return mem.read_u64(base + uint64_t(offset));
}

// The GIL struct an interpreter uses: in _PyRuntime (3.11) or behind the
// interpreter's pointer (3.12+).
uint64_t gil_struct(const memory::RemoteMemory& mem, const PyRuntime& rt, uint64_t interp) {
  const auto& l = rt.layout;
  if (l.runtime_gil >= 0) return rt.runtime + uint64_t(l.runtime_gil);
  auto p = read_ptr(mem, interp, l.interp_gil_ptr);
  return p && plausible_pointer(*p) ? *p : 0;
}

}  // namespace

Result<void> check_layout(const memory::RemoteMemory& mem, const PyRuntime& rt) {
  const auto& l = rt.layout;
  auto interp = read_ptr(mem, rt.runtime, l.runtime_interpreters_head);
  if (!interp) return std::unexpected(interp.error());
  if (*interp == 0) return {};  // not initialized yet (or finalized): nothing to check, nothing to read
  if (!plausible_pointer(*interp)) return fail(ErrorCode::bad_request, "implausible interpreter pointer");
  auto head = read_ptr(mem, *interp, l.interp_threads_head);
  if (!head) return std::unexpected(head.error());
  if (*head == 0) return {};
  if (!plausible_pointer(*head)) return fail(ErrorCode::bad_request, "implausible thread state pointer");
  auto back = read_ptr(mem, *head, l.tstate_interp);
  if (!back) return std::unexpected(back.error());
  if (*back != *interp) return fail(ErrorCode::bad_request, "thread state does not point back at its interpreter");
  return {};
}

Result<std::vector<PyThread>> read_threads(const memory::RemoteMemory& mem, const PyRuntime& rt) {
  const auto& l = rt.layout;
  std::vector<PyThread> out;
  auto interp = read_ptr(mem, rt.runtime, l.runtime_interpreters_head);
  if (!interp) return std::unexpected(interp.error());
  std::unordered_set<uint64_t> seen;
  for (int i = 0; i < kMaxInterpreters && plausible_pointer(*interp) && seen.insert(*interp).second; ++i) {
    uint64_t gil = gil_struct(mem, rt, *interp);
    uint64_t holder = 0;
    if (gil) {
      uint32_t locked = 0;
      if (mem.read(gil + uint64_t(l.gil_locked), &locked, sizeof locked) && locked)
        if (auto h = mem.read_u64(gil + uint64_t(l.gil_last_holder))) holder = *h;
    }
    auto ts = read_ptr(mem, *interp, l.interp_threads_head);
    for (int n = 0; ts && plausible_pointer(*ts) && n < kMaxThreads && seen.insert(*ts).second; ++n) {
      PyThread t;
      t.tstate = *ts;
      t.interp = *interp;
      auto back = read_ptr(mem, t.tstate, l.tstate_interp);
      if (!back || *back != *interp) break;  // freed under us: stop rather than follow garbage
      if (auto tid = read_ptr(mem, t.tstate, l.tstate_native_thread_id)) t.native_tid = pid_t(*tid);
      if (auto id = read_ptr(mem, t.tstate, l.tstate_thread_id)) t.thread_id = *id;
      t.holds_gil = holder != 0 && holder == t.tstate;
      out.push_back(t);
      ts = read_ptr(mem, t.tstate, l.tstate_next);
    }
    interp = read_ptr(mem, *interp, l.interp_next);
    if (!interp) break;
  }
  return out;
}

}  // namespace sonde::python
