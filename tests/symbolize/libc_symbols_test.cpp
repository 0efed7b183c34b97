// libc as the node maps it: names from .dynsym of the stripped libc, and
// with libc6-dbg the debug file found by build-id (symbols and lines).
#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>

#include <doctest/doctest.h>

#include "child.h"
#include "symbolize/symbolizer.h"
#include "symbolize_test_util.h"

using sonde::symbolize::Symbolizer;
using sonde::symbolize::SymbolizerOptions;
using sonde::test::outer;
using sonde::test::self_maps;

using sonde::test::libc_address;

TEST_CASE("libc from its .dynsym only") {
  SymbolizerOptions options;
  options.use_debug_files = false;
  Symbolizer sym(options);
  auto maps = self_maps();
  for (const char* name : {"nanosleep", "pthread_cond_wait", "epoll_wait", "read"}) {
    CAPTURE(name);
    auto at = libc_address(name);
    auto frames = sym.symbolize(::getpid(), maps, at + 4, false);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].function == name);
    CHECK(frames[0].offset == 4);
    CHECK(frames[0].module.find("libc.so") != std::string::npos);
    CHECK(frames[0].file.empty());
  }
  auto info = sym.module_info(::getpid(), maps, libc_address("nanosleep"));
  REQUIRE(info.has_value());
  CHECK(info->symbols == "dynsym");
  CHECK(info->debug_file.empty());
}

TEST_CASE("libc with libc6-dbg: debug file by build-id, lines") {
  Symbolizer sym;
  auto maps = self_maps();
  auto info = sym.module_info(::getpid(), maps, libc_address("nanosleep"));
  REQUIRE(info.has_value());
  REQUIRE(info->build_id.size() == 40);
  std::string by_id = "/usr/lib/debug/.build-id/" + info->build_id.substr(0, 2) + "/" +
                      info->build_id.substr(2) + ".debug";
  if (!std::filesystem::exists(by_id)) {
    MESSAGE("libc6-dbg is not installed (no " << by_id << "): debug-file part not checked");
    return;
  }
  CHECK(info->debug_file.find(".build-id/") != std::string::npos);
  CHECK(info->symbols == "debug-symtab");
  CHECK(info->has_dwarf);

  for (const char* name : {"nanosleep", "pthread_cond_wait"}) {
    CAPTURE(name);
    auto frames = sym.symbolize(::getpid(), maps, libc_address(name) + 8, false);
    const auto& f = outer(frames);
    CHECK(f.function == name);
    CHECK(f.offset == 8);
    CHECK_FALSE(f.file.empty());
    CHECK(f.line > 0);
  }
}

TEST_CASE("a debug file whose build-id differs is ignored") {
  // A debug folder holding libc's build-id path, but with another file's
  // content (the test executable's): it must not be used.
  sonde::test::TempDir dir;
  Symbolizer probe;
  auto maps = self_maps();
  auto info = probe.module_info(::getpid(), maps, libc_address("nanosleep"));
  REQUIRE(info.has_value());
  auto folder = dir.path + "/.build-id/" + info->build_id.substr(0, 2);
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file("/proc/self/exe", folder + "/" + info->build_id.substr(2) + ".debug");

  SymbolizerOptions options;
  options.debug_dirs = {dir.path};
  Symbolizer sym(options);
  auto wrong = sym.module_info(::getpid(), maps, libc_address("nanosleep"));
  REQUIRE(wrong.has_value());
  CHECK(wrong->debug_file.empty());
  CHECK(wrong->symbols == "dynsym");
  CHECK(outer(sym.symbolize(::getpid(), maps, libc_address("nanosleep") + 1, false)).function ==
        "nanosleep");
}

TEST_CASE("release_debug_info keeps answers and reopens DWARF for new addresses") {
  Symbolizer sym;
  auto maps = self_maps();
  auto first = outer(sym.symbolize(::getpid(), maps, libc_address("nanosleep") + 8, false));
  sym.release_debug_info();
  auto again = outer(sym.symbolize(::getpid(), maps, libc_address("nanosleep") + 8, false));
  CHECK(again.function == first.function);
  CHECK(again.file == first.file);
  CHECK(again.line == first.line);
  auto other = outer(sym.symbolize(::getpid(), maps, libc_address("pthread_cond_wait") + 8, false));
  CHECK(other.function == "pthread_cond_wait");
  CHECK((other.line > 0) == !first.file.empty());  // lines again when libc6-dbg gave them before
  CHECK(sym.stats().modules_loaded == 1);
}
