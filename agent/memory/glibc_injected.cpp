#include "memory/glibc_injected.h"

#include <cstring>

#include "memory/glibc_locate.h"
#include "target/node_symbol.h"

namespace sonde::memory {

Result<InjectedMallinfo> injected_mallinfo2(pid_t pid, const target::Maps& maps, std::chrono::milliseconds timeout) {
  const target::Mapping* libc = find_libc(maps);
  if (!libc) return fail(ErrorCode::not_found, "the node maps no glibc libc.so: no mallinfo2() to call");
  auto fn = target::find_node_function(pid, maps, "mallinfo2", libc->path);
  if (!fn)
    return fail(ErrorCode::not_found, "the node's libc (" + libc->path +
                                          ") has no mallinfo2() (glibc 2.33 or later has it): " + fn.error().message);
  InjectedMallinfo out;
  out.libc_path = libc->path;
  target::RemoteCallOptions o;
  o.timeout = timeout;
  o.purpose = "glibc mallinfo2()";
  // Ten size_t fields, in the order of struct mallinfo2 (malloc.h).
  constexpr size_t kFields = 10;
  auto rec = target::run_remote_calls(pid, o, [&](target::Session& s) -> Result<void> {
    std::vector<uint8_t> d(kFields * 8, 0xa5);
    if (auto r = s.call(fn->address, {s.data_address()}, d, "mallinfo2()"); !r) return r;
    uint64_t v[kFields];
    std::memcpy(v, d.data(), sizeof v);
    for (uint64_t x : v)
      if (x == 0xa5a5a5a5a5a5a5a5ull) return fail(ErrorCode::internal, "mallinfo2() did not fill its result");
    Mallinfo2& t = out.totals;
    t.arena = v[0], t.ordblks = v[1], t.smblks = v[2], t.hblks = v[3], t.hblkhd = v[4];
    t.usmblks = v[5], t.fsmblks = v[6], t.uordblks = v[7], t.fordblks = v[8], t.keepcost = v[9];
    return {};
  });
  if (!rec) return std::unexpected(rec.error());
  out.call = *rec;
  return out;
}

}  // namespace sonde::memory
