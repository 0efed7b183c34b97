// Symbolizing another process through /proc/PID/root: a PIE and a non-PIE
// build, a stripped (.dynsym only) copy, and a file replaced on disk.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "child.h"
#include "symbolize/symbolizer.h"
#include "symbolize_test_util.h"

using sonde::symbolize::Symbolizer;
using sonde::symbolize::SymbolizerOptions;
using sonde::test::Child;
using sonde::test::outer;

namespace fs = std::filesystem;

namespace {

// A running helper and the two addresses it printed.
struct Helper {
  Child child;
  uintptr_t parked = 0, common = 0;
};

Helper start_helper(const std::string& exe, const std::string& log) {
  Helper h;
  h.child = Child::spawn({exe}, log);
  REQUIRE(sonde::test::wait_for_text(log, "ready"));
  std::istringstream in(sonde::test::read_file(log).substr(sonde::test::read_file(log).rfind("ready")));
  std::string word, a, b;
  in >> word >> a >> b;
  h.parked = std::stoull(a, nullptr, 16);
  h.common = std::stoull(b, nullptr, 16);
  return h;
}

sonde::target::Maps maps_of(pid_t pid) {
  auto maps = sonde::target::read_maps(pid);
  REQUIRE(maps.has_value());
  return *maps;
}

std::string function_at(Symbolizer& sym, pid_t pid, uintptr_t pc) {
  return outer(sym.symbolize(pid, maps_of(pid), pc, false)).function;
}

// Replaces `to` by a copy of `from` through a new file and rename(2), the
// way package managers and deploys do: `to` gets a new inode.
void replace_by_rename(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing);
  fs::rename(to + ".new", to);
}

// Rewrites `to` in place: same inode, new content and mtime.
void rewrite_in_place(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
}

}  // namespace

TEST_CASE("another process: PIE and non-PIE helpers, names, offsets, lines") {
  sonde::test::TempDir dir;
  for (const char* env : {"SYMBOLIZE_HELPER_A", "SYMBOLIZE_HELPER_NOPIE"}) {
    CAPTURE(env);
    Symbolizer sym;
    auto h = start_helper(sonde::test::build_path(env), dir.path + "/" + env + ".log");
    auto maps = maps_of(h.child.pid());
    auto parked = sym.symbolize(h.child.pid(), maps, h.parked + 1, false);
    CHECK(outer(parked).function == "helper_variant_a");
    CHECK(outer(parked).offset == 1);
    CHECK(outer(parked).line > 0);
    CHECK(sonde::test::ends_with(outer(parked).file, "symbolize_helper.c"));
    CHECK(outer(sym.symbolize(h.child.pid(), maps, h.common, false)).function == "helper_common");
  }
}

TEST_CASE("a stripped copy (.dynsym only) still gives names") {
  sonde::test::TempDir dir;
  std::string stripped = dir.path + "/helper_stripped";
  std::string cmd = "objcopy --strip-all '" + sonde::test::build_path("SYMBOLIZE_HELPER_A") + "' '" +
                    stripped + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto h = start_helper(stripped, dir.path + "/log");
  Symbolizer sym;
  auto maps = maps_of(h.child.pid());
  auto info = sym.module_info(h.child.pid(), maps, h.parked);
  REQUIRE(info.has_value());
  CHECK(info->symbols == "dynsym");
  CHECK_FALSE(info->has_dwarf);
  auto frames = sym.symbolize(h.child.pid(), maps, h.parked + 2, false);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].function == "helper_variant_a");
  CHECK(frames[0].offset == 2);
  CHECK(frames[0].file.empty());
  CHECK(frames[0].module == stripped);
}

TEST_CASE("a file replaced on disk with another build is loaded again") {
  sonde::test::TempDir dir;
  const std::string app = dir.path + "/app";
  const std::string a = sonde::test::build_path("SYMBOLIZE_HELPER_A");
  const std::string b = sonde::test::build_path("SYMBOLIZE_HELPER_B");
  Symbolizer sym;

  fs::copy_file(a, app);
  {
    auto h = start_helper(app, dir.path + "/1.log");
    CHECK(function_at(sym, h.child.pid(), h.parked) == "helper_variant_a");
  }
  auto loaded = sym.stats().modules_loaded;

  SUBCASE("replaced by rename (new inode)") { replace_by_rename(b, app); }
  SUBCASE("rewritten in place (same inode)") { rewrite_in_place(b, app); }
  {
    auto h = start_helper(app, dir.path + "/2.log");
    CHECK(function_at(sym, h.child.pid(), h.parked) == "helper_variant_b");
    CHECK(sym.stats().modules_loaded > loaded);
  }
}

TEST_CASE("a running binary replaced on disk keeps the names of the code that runs") {
  sonde::test::require_root("reads /proc/PID/map_files, which needs CAP_SYS_ADMIN");
  sonde::test::TempDir dir;
  const std::string app = dir.path + "/app";
  fs::copy_file(sonde::test::build_path("SYMBOLIZE_HELPER_B"), app);
  auto h = start_helper(app, dir.path + "/log");
  SymbolizerOptions options;
  options.revalidate_after = std::chrono::milliseconds(0);
  Symbolizer sym(options);
  CHECK(function_at(sym, h.child.pid(), h.parked) == "helper_variant_b");
  // A new build lands on the path while the old one still runs.
  replace_by_rename(sonde::test::build_path("SYMBOLIZE_HELPER_A"), app);
  auto maps = maps_of(h.child.pid());
  auto frames = sym.symbolize(h.child.pid(), maps, h.parked, false);
  CHECK(outer(frames).function == "helper_variant_b");
  CHECK(outer(frames).module == app);  // " (deleted)" is not part of the name
}
