// The pure parts of agent/memory: smaps/smaps_rollup parsing, the stack
// pointer in /proc/.../syscall, the mmapped-chunk header rule, and the
// classification of mappings. No process is read.
#include <doctest/doctest.h>

#include "memory/glibc_locate.h"
#include "memory/glibc_mmapped.h"
#include "memory/glibc_walk.h"
#include "memory/mapping_classes.h"
#include "memory/proc_memory.h"
#include "memory/thread_stacks.h"

using namespace sonde::memory;

namespace {

const char* kSmaps =
    "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]\n"
    "Size:                132 kB\n"
    "KernelPageSize:        4 kB\n"
    "Rss:                  12 kB\n"
    "Pss:                  12 kB\n"
    "Shared_Clean:          0 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:         0 kB\n"
    "Private_Dirty:        12 kB\n"
    "Anonymous:            12 kB\n"
    "Swap:                  4 kB\n"
    "THPeligible:    0\n"
    "VmFlags: rd wr mr mw me ac sd\n"
    "7f0000000000-7f0000001000 ---p 00000000 00:00 0 \n"
    "Size:                  4 kB\n"
    "Rss:                   0 kB\n"
    "7f0000001000-7f0000801000 rw-p 00000000 00:00 0 \n"
    "Size:               8192 kB\n"
    "Rss:                  16 kB\n"
    "7f1000000000-7f1000020000 r-xp 00002000 fd:01 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "Size:                128 kB\n"
    "Rss:                 100 kB\n"
    "7f2000000000-7f2000100000 rw-s 00000000 00:01 99                         /dev/shm/q\n"
    "Size:               1024 kB\n"
    "Rss:                  64 kB\n"
    "7f3000000000-7f3000001000 r--p 00000000 fd:01 77                         /etc/data.bin\n"
    "Size:                  4 kB\n"
    "Rss:                   4 kB\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
    "Size:                132 kB\n"
    "Rss:                   8 kB\n";

}  // namespace

TEST_CASE("smaps: one entry per mapping with its sizes in bytes; VmFlags and THPeligible ignored") {
  auto e = parse_smaps(kSmaps);
  REQUIRE(e.size() == 7);
  CHECK(e[0].map.path == "[heap]");
  CHECK(e[0].size == 132 * 1024);
  CHECK(e[0].rss == 12 * 1024);
  CHECK(e[0].private_dirty == 12 * 1024);
  CHECK(e[0].swap == 4 * 1024);
  CHECK(e[3].map.path == "/usr/lib/x86_64-linux-gnu/libc.so.6");
  CHECK(e[3].map.executable);
  CHECK(e[4].map.shared);
  auto r = rollup_of(e);
  CHECK(r.rss == (12 + 16 + 100 + 64 + 4 + 8) * 1024);
}

TEST_CASE("smaps_rollup: the kernel's totals by name") {
  auto r = parse_smaps_rollup(
      "55d0c0a00000-7ffd00021000 ---p 00000000 00:00 0                          [rollup]\n"
      "Rss:                1000 kB\nPss:                 800 kB\nPss_Anon:            300 kB\n"
      "Pss_File:            400 kB\nPss_Shmem:           100 kB\nAnonymous:           300 kB\n"
      "Swap:                 10 kB\nSwapPss:                5 kB\n");
  CHECK(r.rss == 1000 * 1024);
  CHECK(r.pss == 800 * 1024);
  CHECK(r.pss_anon == 300 * 1024);
  CHECK(r.pss_file == 400 * 1024);
  CHECK(r.pss_shmem == 100 * 1024);
  CHECK(r.swap == 10 * 1024);
  CHECK(r.swap_pss == 5 * 1024);
}

TEST_CASE("/proc/.../syscall: the stack pointer is the next-to-last field; running has none") {
  CHECK(sp_from_syscall_line("202 0x7f00 0x80 0x0 0x0 0x0 0x0 0x7ffd1234 0x7f5678\n") == 0x7ffd1234u);
  CHECK(sp_from_syscall_line("-1 0x7ffd1000 0x7f5678\n") == 0x7ffd1000u);
  CHECK_FALSE(sp_from_syscall_line("running\n").has_value());
  CHECK_FALSE(sp_from_syscall_line("").has_value());
}

TEST_CASE("mmapped chunk header: IS_MMAPPED, page multiple, fits the mapping") {
  const uint64_t page = 4096;
  CHECK(mmapped_chunk_span(0, (132 * 1024) | 2, 132 * 1024, page) == 132 * 1024);
  CHECK(mmapped_chunk_span(0, (132 * 1024) | 2, 1 << 20, page) == 132 * 1024);  // merged with more after it
  CHECK(mmapped_chunk_span(0, (132 * 1024) | 1, 132 * 1024, page) == 0);        // not IS_MMAPPED
  CHECK(mmapped_chunk_span(0, (132 * 1024) | 6, 132 * 1024, page) == 0);        // NON_MAIN_ARENA
  CHECK(mmapped_chunk_span(0, (132 * 1024 + 16) | 2, 1 << 20, page) == 0);      // not a page multiple
  CHECK(mmapped_chunk_span(0, (264 * 1024) | 2, 132 * 1024, page) == 0);        // larger than the mapping
  CHECK(mmapped_chunk_span(16, (132 * 1024 - 16) | 2, 132 * 1024, page) == 132 * 1024);  // memalign correction
}

TEST_CASE("mappings: heap, stacks by name, sp and guard page, libraries, files, shared memory") {
  auto e = parse_smaps(kSmaps);
  std::vector<ThreadSp> threads{{100, 0x7ffd00020000}, {101, 0}};
  auto c = classify_mappings(e, 100, threads, {}, "/usr/bin/node");
  REQUIRE(c.size() == 7);
  CHECK(c[0].kind == MappingKind::heap);
  CHECK(c[1].kind == MappingKind::anonymous);  // the guard itself
  CHECK(c[2].kind == MappingKind::thread_stack);  // above a one-page guard
  CHECK(c[2].method == "guard page");
  CHECK(c[3].kind == MappingKind::library);
  CHECK(c[4].kind == MappingKind::shared_memory);
  CHECK(c[5].kind == MappingKind::file);
  CHECK(c[6].kind == MappingKind::thread_stack);
  CHECK(c[6].tid == 100);

  // A thread blocked in a call names its own stack; the walk claims ranges.
  std::vector<ThreadSp> with_sp{{100, 0}, {101, 0x7f0000400000}};
  c = classify_mappings(e, 100, with_sp, {}, "/usr/bin/node");
  CHECK(c[2].kind == MappingKind::thread_stack);
  CHECK(c[2].tid == 101);
  CHECK(c[2].method == "procfs sp");
  std::vector<KnownRange> known{{0x7f0000001000, 0x7f0000801000, MappingKind::arena_heap, 2}};
  c = classify_mappings(e, 100, {}, known, "/usr/bin/node");
  CHECK(c[2].kind == MappingKind::arena_heap);
  CHECK(c[2].arena == 2);
  CHECK(c[2].method == "glibc walk");
}

TEST_CASE("allocator and libc by mapping name; safe-linking by version; bin kinds") {
  sonde::target::Maps maps;
  maps.mappings.push_back({0x1000, 0x2000, 0, true, false, true, false, 5, "fd:01", "/usr/lib/libc.so.6"});
  CHECK(guess_allocator(maps).name == "glibc");
  REQUIRE(find_libc(maps) != nullptr);
  maps.mappings.push_back({0x3000, 0x4000, 0, true, false, true, false, 6, "fd:01", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"});
  CHECK(guess_allocator(maps).name == "jemalloc");
  CHECK(version_has_safe_linking("2.36"));
  CHECK(version_has_safe_linking("2.32"));
  CHECK_FALSE(version_has_safe_linking("2.31"));
  CHECK(std::string(bin_kind(1)) == "unsorted");
  CHECK(std::string(bin_kind(2)) == "small");
  CHECK(std::string(bin_kind(63)) == "small");
  CHECK(std::string(bin_kind(64)) == "large");
  auto msg = missing_debug_info_message("/usr/lib/libc.so.6", "abcd");
  CHECK(msg.find("libc6-dbg") != std::string::npos);
  CHECK(msg.find("glibc-debuginfo") != std::string::npos);
}
