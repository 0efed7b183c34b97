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

}  // namespace sonde::memory
