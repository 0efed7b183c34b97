// The memory report as the agent serves it: the seed's plain-text shape for
// /api/status/heap, the same facts as JSON (?format=json), and the allocator
// table of /api/status/debugmallocstats. One format per file.
#pragma once

#include <string>

#include "memory/heap_report.h"

namespace sonde::memory {

std::string render_heap_text(const HeapReport& r);
std::string render_heap_json(const HeapReport& r);
std::string render_malloc_stats_text(const MallocStatsReport& r);

// "injected call on thread 12 (tid 12 (bio_close_file): blocked in futex, ...):
// 10 calls, thread stopped 0.41 ms, away from its own code 0.52 ms"
std::string describe_injected_call(const target::CallRecord& c);

}  // namespace sonde::memory
