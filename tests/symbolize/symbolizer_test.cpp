// The symbolizer on the test process's own code (a PIE built with -g -O2):
// names, offsets, file:line, C++ demangling, inlined frames, caching.
#include <dlfcn.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <thread>

#include <doctest/doctest.h>

#include "child.h"
#include "subjects.h"
#include "symbolize/symbolizer.h"
#include "symbolize_test_util.h"

using sonde::symbolize::Symbolizer;
using sonde::test::ends_with;
using sonde::test::outer;
using sonde::test::self_maps;

TEST_CASE("a C++ namespaced template function: demangled name, offset, file:line") {
  Symbolizer sym;
  auto maps = self_maps();
  auto c = sonde_test::deep::Box<int>::get(7);
  auto start = reinterpret_cast<uintptr_t>(&sonde_test::deep::Box<int>::get);

  auto frames = sym.symbolize(::getpid(), maps, c.pc, /*return_address=*/true);
  const auto& f = outer(frames);
  CHECK(f.function == "sonde_test::deep::Box<int>::get(int)");
  CHECK(f.offset == c.pc - start);
  CHECK(f.address == c.pc);
  CHECK(ends_with(f.file, "tests/symbolize/subjects.cpp"));
  CHECK(f.line == c.line);
  CHECK_FALSE(f.inlined);
  char exe[4096] = {};
  REQUIRE(::readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
  CHECK(f.module == exe);
}

TEST_CASE("the entry of a function is offset 0 and not shifted back when not a return address") {
  Symbolizer sym;
  auto maps = self_maps();
  auto start = reinterpret_cast<uintptr_t>(&subject_c_function);
  auto frames = sym.symbolize(::getpid(), maps, start, false);
  CHECK(outer(frames).function == "subject_c_function");
  CHECK(outer(frames).offset == 0);
}

TEST_CASE("a plain C function") {
  Symbolizer sym;
  auto maps = self_maps();
  auto c = subject_c_function(1);
  auto frames = sym.symbolize(::getpid(), maps, c.pc, true);
  CHECK(outer(frames).function == "subject_c_function");
  CHECK(outer(frames).line == c.line);
  CHECK(outer(frames).offset == c.pc - reinterpret_cast<uintptr_t>(&subject_c_function));
}

TEST_CASE("inlined code gives an inlined frame, then its caller at the call's line") {
  Symbolizer sym;
  auto maps = self_maps();
  auto c = sonde_test::call_inlined();
  auto frames = sym.symbolize(::getpid(), maps, c.pc, true);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].inlined);
  CHECK(frames[0].function == "sonde_test::inlined_leaf()");
  CHECK(frames[0].line == c.line);
  CHECK(ends_with(frames[0].file, "subjects.cpp"));
  CHECK_FALSE(frames[1].inlined);
  CHECK(frames[1].function == "sonde_test::call_inlined()");
  CHECK(frames[1].line == c.call_line);
  CHECK(ends_with(frames[1].file, "subjects.cpp"));
  // Both offsets are from the symbol that holds the code.
  auto start = reinterpret_cast<uintptr_t>(&sonde_test::call_inlined);
  CHECK(frames[0].offset == c.pc - start);
  CHECK(frames[1].offset == c.pc - start);
  CHECK(frames[0].address == c.pc);
}

TEST_CASE("addresses outside any file mapping: module named when known, function empty") {
  Symbolizer sym;
  auto maps = self_maps();
  int on_stack = 0;
  auto frames = sym.symbolize(::getpid(), maps, reinterpret_cast<uintptr_t>(&on_stack), false);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].module == "[stack]");
  CHECK(frames[0].function.empty());
  auto none = sym.symbolize(::getpid(), maps, 16, false);
  REQUIRE(none.size() == 1);
  CHECK(none[0].module.empty());
  CHECK(none[0].function.empty());
  CHECK(none[0].address == 16);
}

TEST_CASE("a warm second pass loads no module again") {
  Symbolizer sym;
  auto maps = self_maps();
  std::vector<uintptr_t> pcs = {sonde_test::deep::Box<int>::get(1).pc, sonde_test::call_inlined().pc,
                                subject_c_function(2).pc};
  for (auto pc : pcs) sym.symbolize(::getpid(), maps, pc, true);
  auto cold = sym.stats();
  CHECK(cold.modules_loaded == 1);
  std::vector<std::string> first;
  for (auto pc : pcs) first.push_back(outer(sym.symbolize(::getpid(), maps, pc, true)).function);
  auto warm = sym.stats();
  CHECK(warm.modules_loaded == cold.modules_loaded);
  CHECK(warm.cache_hits == cold.cache_hits + pcs.size());
  CHECK(warm.result_hits >= pcs.size());
  CHECK(warm.files_checked == cold.files_checked);  // within revalidate_after: not even a stat
  CHECK(first[0] == "sonde_test::deep::Box<int>::get(int)");
}

TEST_CASE("module_info tells where symbols and lines come from") {
  Symbolizer sym;
  auto maps = self_maps();
  auto info = sym.module_info(::getpid(), maps, reinterpret_cast<uintptr_t>(&subject_c_function));
  REQUIRE(info.has_value());
  CHECK(info->symbols == "symtab");
  CHECK(info->has_dwarf);
  CHECK(info->build_id.size() == 40);
}

TEST_CASE("the vDSO has no file: read from memory, named from its .dynsym") {
  auto base = static_cast<uintptr_t>(::getauxval(AT_SYSINFO_EHDR));
  if (base == 0) {
    MESSAGE("no vDSO in this process: not checked");
    return;
  }
  // Where clock_gettime is, read independently with libelf from the image.
  auto maps = self_maps();
  const auto* m = maps.find(base);
  REQUIRE(m != nullptr);
  REQUIRE(m->path == "[vdso]");
  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(reinterpret_cast<char*>(m->start), m->end - m->start);
  REQUIRE(elf != nullptr);
  GElf_Phdr first_load{};
  for (int i = 0; gelf_getphdr(elf, i, &first_load) && first_load.p_type != PT_LOAD; ++i) {}
  uint64_t clock_gettime_at = 0;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym s;
      gelf_getsym(data, static_cast<int>(i), &s);
      if (std::string(elf_strptr(elf, sh.sh_link, s.st_name)) == "__vdso_clock_gettime")
        clock_gettime_at = base + s.st_value - first_load.p_vaddr;
    }
  }
  elf_end(elf);
  REQUIRE(clock_gettime_at != 0);

  Symbolizer sym;
  auto frames = sym.symbolize(::getpid(), maps, clock_gettime_at + 3, false);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].module == "[vdso]");
  // Its aliases: clock_gettime (weak) and __vdso_clock_gettime.
  CHECK((frames[0].function == "clock_gettime" || frames[0].function == "__vdso_clock_gettime"));
  CHECK(frames[0].offset == 3);
  CHECK(sym.stats().modules_loaded == 1);

  // Another process of the same kernel maps the same image: shared by build-id.
  sonde::test::TempDir dir;
  auto child = sonde::test::Child::spawn({sonde::test::build_path("SYMBOLIZE_HELPER_A")}, dir.path + "/log");
  REQUIRE(sonde::test::wait_for_text(dir.path + "/log", "ready"));
  auto child_maps = sonde::target::read_maps(child.pid());
  REQUIRE(child_maps.has_value());
  const sonde::target::Mapping* child_vdso = nullptr;
  for (const auto& cm : child_maps->mappings)
    if (cm.path == "[vdso]") child_vdso = &cm;
  REQUIRE(child_vdso != nullptr);
  auto in_child = sym.symbolize(child.pid(), *child_maps, child_vdso->start + (clock_gettime_at - base) + 3, false);
  CHECK(outer(in_child).function == frames[0].function);
  CHECK(sym.stats().modules_loaded == 1);
}

TEST_CASE("many threads symbolizing at once agree") {
  Symbolizer sym;
  auto maps = self_maps();
  std::vector<uintptr_t> pcs = {sonde_test::deep::Box<int>::get(1).pc, sonde_test::call_inlined().pc,
                                subject_c_function(2).pc,
                                sonde::test::libc_address("nanosleep") + 3};
  std::vector<std::vector<std::string>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round)
        for (auto pc : pcs)
          if (round == 49) seen[t].push_back(outer(sym.symbolize(::getpid(), maps, pc, true)).function);
          else sym.symbolize(::getpid(), maps, pc, true);
    });
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) CHECK(seen[t] == seen[0]);
  CHECK(seen[0][0] == "sonde_test::deep::Box<int>::get(int)");
  CHECK(seen[0][3] == "nanosleep");
  // 2 modules; threads that miss the cache at once each load it and one copy
  // is kept (symbolizer.cpp), so at most once per thread. (ASan's slower
  // loads make the race wide enough to reach that bound.) After the race the
  // cache holds: asking again loads nothing.
  uint64_t loaded = sym.stats().modules_loaded;
  CHECK(loaded <= 2 * 4);
  for (auto pc : pcs) sym.symbolize(::getpid(), maps, pc, true);
  CHECK(sym.stats().modules_loaded == loaded);
}
