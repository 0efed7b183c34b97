// Small helpers shared by the symbolizer tests.
#pragma once

#include <dlfcn.h>
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

// libc's own definition of `name`: in a sanitized build the global lookup
// (RTLD_DEFAULT) finds the sanitizer's interceptor of the same name first.
inline uintptr_t libc_address(const char* name) {
  static void* libc = ::dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  REQUIRE(libc != nullptr);
  void* p = ::dlsym(libc, name);
  REQUIRE(p != nullptr);
  return reinterpret_cast<uintptr_t>(p);
}

}  // namespace sonde::test
