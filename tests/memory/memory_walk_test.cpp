// The read-only glibc walk and the heap report against a real node
// (target_alloc): the figures agree with the node's own mallinfo2() within
// 2 %, there is one arena per allocating thread plus main_arena, every
// thread's stack is found, the node's memory is byte-for-byte the same after
// we read it, and a libc without debug info gives a message, not numbers.
// ptrace suite: reading another process's memory needs CAP_SYS_PTRACE.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "child.h"
#include "memory/glibc_locate.h"
#include "memory/glibc_walk.h"
#include "memory/heap_render.h"
#include "memory/heap_report.h"
#include "memory/mapping_classes.h"
#include "memory/remote_memory.h"
#include "memory/thread_stacks.h"
#include "target/maps.h"
#include "target/procfs.h"

using namespace sonde;
using namespace sonde::test;

namespace {

constexpr int kThreads = 4;

struct AllocNode {
  TempDir dir;
  Child child;
  std::string report;
  AllocNode() {
    report = dir.path + "/mallinfo";
    child = Child::spawn({build_path("SONDE_TARGET_ALLOC"), report, std::to_string(kThreads)}, dir.path + "/out");
    REQUIRE(wait_for_text(dir.path + "/out", "ready"));
  }
  pid_t pid() const { return const_cast<Child&>(child).pid(); }
  // The node's own mallinfo2(), asked by SIGUSR2.
  std::map<std::string, double> mallinfo() {
    ::unlink(report.c_str());
    ::kill(pid(), SIGUSR2);
    REQUIRE(wait_for_text(report, "end"));
    std::map<std::string, double> m;
    std::istringstream in(read_file(report));
    std::string k;
    double v;
    while (in >> k >> v) m[k] = v;
    return m;
  }
};

void within_2_percent(const char* what, double ours, double theirs) {
  INFO(what << ": ours " << ours << ", mallinfo2 " << theirs);
  CHECK(std::fabs(ours - theirs) <= 0.02 * theirs + 64);
}

// Every writable mapping's bytes (the node's data, heaps, stacks).
std::map<uint64_t, std::string> writable_memory(pid_t pid) {
  std::map<uint64_t, std::string> out;
  memory::RemoteMemory mem(pid);
  auto maps = target::read_maps(pid);
  REQUIRE(maps);
  for (const auto& m : maps->mappings) {
    if (!m.readable || !m.writable || m.path == "[vvar]") continue;
    if (auto bytes = mem.read_bytes(m.start, m.end - m.start)) out[m.start] = std::move(*bytes);
  }
  return out;
}

}  // namespace

TEST_CASE("the glibc walk matches the node's own mallinfo2() within 2 %, arena by arena count") {
  require_ptrace();
  AllocNode node;
  auto theirs = node.mallinfo();
  auto maps = target::read_maps(node.pid());
  REQUIRE(maps);
  auto located = memory::locate_glibc(node.pid(), *maps, {});
  REQUIRE_MESSAGE(located, (located ? "" : located.error().message));
  CHECK(located->safe_linking);
  CHECK_FALSE(located->version.empty());
  auto heap = memory::walk_glibc(node.pid(), *located);
  REQUIRE(heap);
  CHECK(heap->consistent);
  const auto& t = heap->totals;
  MESSAGE("ours: arena=" << t.arena << " uordblks=" << t.uordblks << " fordblks=" << t.fordblks << " fsmblks="
                         << t.fsmblks << " hblks=" << t.hblks << " hblkhd=" << t.hblkhd << " ordblks=" << t.ordblks
                         << " | mallinfo2: arena=" << theirs["arena"] << " uordblks=" << theirs["uordblks"]
                         << " fordblks=" << theirs["fordblks"] << " fsmblks=" << theirs["fsmblks"]
                         << " hblkhd=" << theirs["hblkhd"] << " ordblks=" << theirs["ordblks"]);
  within_2_percent("in use (uordblks)", static_cast<double>(t.uordblks), theirs["uordblks"]);
  within_2_percent("free (fordblks)", static_cast<double>(t.fordblks), theirs["fordblks"]);
  within_2_percent("fastbins (fsmblks)", static_cast<double>(t.fsmblks), theirs["fsmblks"]);
  within_2_percent("system (arena)", static_cast<double>(t.arena), theirs["arena"]);
  within_2_percent("mmapped (hblkhd)", static_cast<double>(t.hblkhd), theirs["hblkhd"]);
  CHECK(t.hblks == static_cast<uint64_t>(theirs["hblks"]));
  CHECK(t.ordblks == static_cast<uint64_t>(theirs["ordblks"]));
  CHECK(t.smblks == static_cast<uint64_t>(theirs["smblks"]));
  CHECK(t.keepcost == static_cast<uint64_t>(theirs["keepcost"]));
  CHECK(t.fsmblks > 0);  // the pattern leaves chunks in fastbins
  // main_arena + one per worker (each new thread gets its own arena while
  // there are fewer than 8 x cores).
  CHECK(heap->arenas.size() == kThreads + 1);
  CHECK(heap->arenas[0].is_main);
  CHECK(heap->params.narenas == kThreads + 1);
  for (size_t i = 1; i < heap->arenas.size(); ++i) {
    CHECK(heap->arenas[i].attached_threads == 1);
    CHECK(heap->arenas[i].heaps.size() >= 1);
  }
}

TEST_CASE("the heap report: seed lines, every thread's stack, mmapped chunks found, the node untouched") {
  require_ptrace();
  AllocNode node;
  auto theirs = node.mallinfo();
  auto before = writable_memory(node.pid());
  auto report = memory::build_heap_report(node.pid(), {});
  auto after = writable_memory(node.pid());
  REQUIRE(report);
  REQUIRE(report->glibc);

  // Byte-for-byte: the walk only ever reads (process_vm_readv).
  REQUIRE(before.size() == after.size());
  size_t differing = 0;
  for (const auto& [start, bytes] : before)
    if (after[start] != bytes) ++differing;
  CHECK(differing == 0);

  std::string text = memory::render_heap_text(*report);
  INFO(text);
  CHECK(text.rfind("Process memory information: pmem(rss=", 0) == 0);
  for (const char* line : {"vms=", "shared=", "text=", "lib=", "data=", "dirty=", "\nMemory use summary:\n",
                           "glibc malloc in use (mallinfo2 uordblks) [glibc walk]", "[procfs]",
                           "**Total accounted for memory**", "**Unaccounted for memory (rss-total_accounted_for)**",
                           "\nTop mappings", "thread stacks", "anonymous not in the heap", "glibc arena 1 heap"})
    CHECK_MESSAGE(text.find(line) != std::string::npos, line);

  // The in-use line is mallinfo2's uordblks.
  auto in_use = std::find_if(report->summary.begin(), report->summary.end(),
                             [](const auto& l) { return l.key == "glibc_in_use"; });
  REQUIRE(in_use != report->summary.end());
  within_2_percent("report in use", static_cast<double>(in_use->bytes), theirs["uordblks"]);
  // Every large block still held is found as a mapping of its own.
  CHECK(report->mmapped_chunks_found == static_cast<uint64_t>(theirs["hblks"]));
  CHECK(report->mmapped_chunk_bytes_found == static_cast<uint64_t>(theirs["hblkhd"]));
  int64_t sum = 0;
  for (const auto& l : report->summary)
    if (l.summed) sum += l.bytes;
  CHECK(sum == report->total_accounted);
  CHECK(report->unaccounted == static_cast<int64_t>(report->pmem.rss) - report->total_accounted);

  // Each thread (all blocked in futex/sigwait) has its stack named with its tid.
  auto pm = memory::read_proc_memory(node.pid());
  REQUIRE(pm);
  auto classified = memory::classify_mappings(pm->mappings, node.pid(), memory::read_thread_sps(node.pid()), {}, "");
  auto tids = target::list_tasks(node.pid());
  REQUIRE(tids);
  CHECK(tids->size() == kThreads + 1);
  for (pid_t tid : *tids) {
    bool found = std::any_of(classified.begin(), classified.end(), [&](const auto& c) {
      return c.kind == memory::MappingKind::thread_stack && c.tid == tid;
    });
    CHECK_MESSAGE(found, "no stack for tid " << tid);
  }

  std::string json = memory::render_heap_json(*report);
  CHECK(json.find("\"uordblks\":") != std::string::npos);
  CHECK(json.find("\"method\":\"glibc walk\"") != std::string::npos);
  CHECK(json.find("\"top_mappings\":[") != std::string::npos);
}

TEST_CASE("debugmallocstats: per arena and per bin, the totals line equals the walk") {
  require_ptrace();
  AllocNode node;
  auto stats = memory::build_malloc_stats(node.pid(), {});
  REQUIRE(stats);
  REQUIRE(stats->glibc);
  std::string text = memory::render_malloc_stats_text(*stats);
  INFO(text);
  CHECK(text.find("mallinfo2: arena=") != std::string::npos);
  CHECK(text.find("Arena 0 (main)") != std::string::npos);
  CHECK(text.find("Arena 4") != std::string::npos);
  CHECK(text.find("fast ") != std::string::npos);
  CHECK(text.find("unsorted") != std::string::npos);
  CHECK(text.find("small") != std::string::npos);
}

TEST_CASE("libc without debug info: a message naming the package, no glibc numbers") {
  require_ptrace();
  AllocNode node;
  TempDir empty;
  memory::HeapOptions opts;
  opts.glibc.debug_dirs = {empty.path};
  auto report = memory::build_heap_report(node.pid(), opts);
  REQUIRE(report);
  CHECK_FALSE(report->glibc.has_value());
  CHECK(report->glibc_note.find("libc6-dbg") != std::string::npos);
  CHECK(report->glibc_note.find("glibc-debuginfo") != std::string::npos);
  std::string text = memory::render_heap_text(*report);
  CHECK(text.find("glibc malloc in use") == std::string::npos);
  CHECK(text.find("[glibc walk]") == std::string::npos);
  CHECK(text.find("libc6-dbg") != std::string::npos);
  CHECK(text.find("**Total accounted for memory**") != std::string::npos);  // procfs figures still there
  auto stats = memory::build_malloc_stats(node.pid(), opts.glibc);
  REQUIRE(stats);
  CHECK_FALSE(stats->glibc.has_value());
  CHECK(memory::render_malloc_stats_text(*stats).find("libc6-dbg") != std::string::npos);
}

TEST_CASE("no libc debug info: a clear message, and with inject allowed mallinfo2() run in the node, within 2 %") {
  require_ptrace();
  AllocNode node;
  TempDir empty;
  memory::HeapOptions o;
  o.glibc.debug_dirs = {empty.path};
  auto refused = memory::build_heap_report(node.pid(), o);
  REQUIRE(refused);
  CHECK_FALSE(refused->glibc);
  CHECK_FALSE(refused->glibc_injected);
  std::string text = memory::render_heap_text(*refused);
  INFO(text);
  CHECK(text.find("libc6-dbg") != std::string::npos);
  CHECK(text.find("--allow-inject") != std::string::npos);
  CHECK(text.find("[injected call]") == std::string::npos);

  auto theirs = node.mallinfo();
  o.inject.allowed = true;
  auto report = memory::build_heap_report(node.pid(), o);
  REQUIRE(report);
  CHECK_FALSE(report->glibc);
  REQUIRE(report->glibc_injected);
  const auto& t = report->glibc_injected->totals;
  within_2_percent("uordblks", static_cast<double>(t.uordblks), theirs["uordblks"]);
  within_2_percent("fordblks", static_cast<double>(t.fordblks), theirs["fordblks"]);
  within_2_percent("arena", static_cast<double>(t.arena), theirs["arena"]);
  within_2_percent("hblkhd", static_cast<double>(t.hblkhd), theirs["hblkhd"]);
  CHECK(report->glibc_injected->call.calls == 1);
  text = memory::render_heap_text(*report);
  INFO(text);
  CHECK(text.find("glibc malloc in use (mallinfo2 uordblks) [injected call]") != std::string::npos);
  CHECK(text.find("mallinfo2() of ") != std::string::npos);
  // The call ran on a parked worker and let it go.
  auto tids = target::list_tasks(node.pid());
  REQUIRE(tids);
  for (pid_t tid : *tids) {
    std::string st = read_file("/proc/" + std::to_string(node.pid()) + "/task/" + std::to_string(tid) + "/status");
    CHECK(st.find("TracerPid:\t0\n") != std::string::npos);
  }
  // The node still answers, with the same figures.
  auto again = node.mallinfo();
  within_2_percent("uordblks after", again["uordblks"], theirs["uordblks"]);
}
