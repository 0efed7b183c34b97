// The pieces under the symbolizer: demangling, load bias, alias choice.
#include <doctest/doctest.h>

#include "symbolize/demangle.h"
#include "symbolize/elf_file.h"

using namespace sonde::symbolize;

TEST_CASE("demangle: C++ names only") {
  CHECK(demangle("_ZN13sonde_targets4deep6HolderIiE4holdEi") ==
        "sonde_targets::deep::Holder<int>::hold(int)");
  CHECK(demangle("main") == "main");
  CHECK(demangle("f") == "f");           // would be a type name to __cxa_demangle
  CHECK(demangle("_Zbroken") == "_Zbroken");
}

TEST_CASE("file offset to link-time address through PT_LOAD") {
  // A typical PIE: text at file offset 0x1000 linked at 0x1000, data at
  // offset 0x2df0 linked at 0x3df0.
  std::vector<LoadSegment> loads = {{0, 0, 0x600, 0x600, false},
                                    {0x1000, 0x1000, 0x500, 0x500, true},
                                    {0x3df0, 0x2df0, 0x230, 0x238, false}};
  uint64_t v = 0;
  REQUIRE(vaddr_of_offset(loads, 0x1234, &v));
  CHECK(v == 0x1234);
  REQUIRE(vaddr_of_offset(loads, 0x2e00, &v));
  CHECK(v == 0x3e00);
  CHECK_FALSE(vaddr_of_offset(loads, 0x9000, &v));
  // Non-PIE: linked at 0x400000.
  std::vector<LoadSegment> fixed = {{0x401000, 0x1000, 0x800, 0x800, true}};
  REQUIRE(vaddr_of_offset(fixed, 0x1010, &v));
  CHECK(v == 0x401010);
}
