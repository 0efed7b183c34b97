// Small helpers shared by the symbolizer tests.
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "symbolize/symbolizer.h"
#include "target/maps.h"

namespace sonde::test {

inline target::Maps self_maps() {
  auto maps = target::read_maps(::getpid());
  REQUIRE(maps.has_value());
  return *maps;
}

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The frame of the real (not inlined) function: the last one.
inline const symbolize::SymbolFrame& outer(const std::vector<symbolize::SymbolFrame>& frames) {
  REQUIRE(!frames.empty());
  return frames.back();
}

}  // namespace sonde::test
