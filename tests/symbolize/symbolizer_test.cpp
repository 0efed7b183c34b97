// The symbolizer on the test process's own code (a PIE built with -g -O2):
// names, offsets, file:line, C++ demangling, inlined frames, caching.
#include <unistd.h>

#include <doctest/doctest.h>

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
