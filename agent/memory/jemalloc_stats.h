// jemalloc's own figures, read by injected calls to its `mallctl` on one
// thread of the node (target/remote_call.h; only with --allow-inject).
// jemalloc keeps its statistics in structures whose layout changes with
// every version and build, and exposes them only through mallctl: so the
// agent asks it, one value per call, after refreshing them with "epoch" (as
// redis's INFO memory does itself):
//   summary  stats.allocated, active, resident, mapped, retained, metadata
//   arenas   stats.arenas.<i>.{nthreads, pactive, pdirty, pmuzzy, mapped,
//            retained, small.allocated, large.allocated} for each arena in use
//   classes  arenas.bin.<j>.size and stats.arenas.<all>.bins.<j>.{curregs,
//            curslabs, nmalloc, ndalloc}: every small size class, all arenas merged
// A value mallctl refused (ENOENT for an arena never used) is left out; the
// return value of an injected call is not kept (remote_call.h), so each
// answer is checked through its length word and a sentinel instead.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "target/maps.h"
#include "target/remote_call.h"

namespace sonde::memory {

struct JemallocArena {
  unsigned index = 0;
  uint64_t nthreads = 0;
  uint64_t active = 0, dirty = 0, muzzy = 0;  // bytes (pages x arenas.page)
  uint64_t mapped = 0, retained = 0;
  uint64_t small_allocated = 0, large_allocated = 0;
};

struct JemallocBin {
  unsigned index = 0;
  uint64_t size = 0;       // the size class
  uint64_t curregs = 0;    // regions in use: curregs x size bytes
  uint64_t curslabs = 0;
  uint64_t nmalloc = 0, ndalloc = 0;
};

struct JemallocStats {
  std::string library;     // where mallctl was found
  std::string version;     // "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c"
  uint64_t allocated = 0, active = 0, resident = 0, mapped = 0, retained = 0, metadata = 0;
  uint64_t page = 0;
  unsigned narenas = 0;
  bool detailed = false;   // arenas and bins below were read
  std::vector<JemallocArena> arenas;   // the arenas in use
  std::vector<JemallocBin> bins;       // merged over arenas; every small class
  uint64_t large_allocated = 0;        // merged stats.arenas.<all>.large.allocated
  target::CallRecord call;             // which thread, how many calls, how long stopped
};

struct JemallocOptions {
  bool detailed = false;   // per arena and per size class (many more calls)
  std::chrono::milliseconds timeout{1000};  // each call
  size_t max_arenas = 64;  // read at most this many arenas one by one
};

// Finds mallctl in `library` (the jemalloc the node maps; "" = the executable
// and every library, for a jemalloc linked in statically) and asks it.
// Fails when mallctl is not there, the thread choice refuses every thread
// (the message lists why), jemalloc was built without statistics, or a call
// fails; the node is left as it was in every case (remote_call.h).
Result<JemallocStats> read_jemalloc_stats(pid_t pid, const target::Maps& maps, const std::string& library,
                                          const JemallocOptions& options);

}  // namespace sonde::memory
