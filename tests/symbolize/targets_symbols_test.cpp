// The symbolizer against the shared test targets (tests/targets), without
// ptrace: addresses come from nm/objdump of the target's file, moved to where
// the running target mapped it, and are symbolized through its pid.
#include <cstdio>
#include <map>
#include <sstream>

#include <doctest/doctest.h>

#include "child.h"
#include "symbolize/symbolizer.h"
#include "symbolize_test_util.h"

using sonde::symbolize::Symbolizer;
using sonde::test::Child;
using sonde::test::outer;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// Demangled name -> link-time address, from `nm` (`-D`: dynamic symbols).
std::map<std::string, uint64_t> nm(const std::string& exe, bool dynamic) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(run(std::string("nm -C --defined-only ") + (dynamic ? "-D " : "") + "'" + exe + "'"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 20 || line[16] != ' ' || line[18] != ' ') continue;
    out[line.substr(19)] = std::stoull(line.substr(0, 16), nullptr, 16);
  }
  return out;
}

// A started target and where its file is loaded (PIE: the mapping at file
// offset 0 starts at link address 0).
struct Target {
  Child child;
  sonde::target::Maps maps;
  uint64_t base = 0;
};

Target start(const std::string& exe, const std::string& log) {
  Target t;
  t.child = Child::spawn({exe}, log);
  REQUIRE(sonde::test::wait_for_text(log, "ready"));
  auto maps = sonde::target::read_maps(t.child.pid());
  REQUIRE(maps.has_value());
  t.maps = *maps;
  for (const auto& m : t.maps.mappings)
    if (m.path == exe && m.offset == 0) {
      t.base = m.start;
      break;
    }
  REQUIRE(t.base != 0);
  return t;
}

}  // namespace

TEST_CASE("target_chain_cpp: namespaced, template and inlined frames by pid") {
  const std::string exe = sonde::test::build_path("SONDE_TARGET_CHAIN_CPP");
  sonde::test::TempDir dir;
  auto t = start(exe, dir.path + "/log");
  auto syms = nm(exe, false);
  Symbolizer sym;
  for (const char* name : {"sonde_targets::deep::Holder<int>::hold(int)", "sonde_targets::deep::Outer::run()",
                           "sonde_targets::deep::block_forever()"}) {
    CAPTURE(name);
    REQUIRE(syms.count(name));
    auto frames = sym.symbolize(t.child.pid(), t.maps, t.base + syms[name] + 1, false);
    CHECK(outer(frames).function == name);
    CHECK(outer(frames).offset == 1);
    CHECK(outer(frames).line > 0);
    CHECK(sonde::test::ends_with(outer(frames).file, "chain_deep.cpp"));
    CHECK(outer(frames).module == exe);
  }

  // The return address of hold()'s call to block_forever(): the call comes
  // from park_inline(), inlined into hold().
  std::istringstream dis(run("objdump -d --no-show-raw-insn -C '" + exe + "'"));
  std::string line;
  bool in_hold = false, after_call = false;
  uint64_t return_address = 0;
  while (std::getline(dis, line)) {
    if (line.find("<sonde_targets::deep::Holder<int>::hold(int)>:") != std::string::npos) in_hold = true;
    else if (in_hold && after_call && line.find(':') != std::string::npos) {
      return_address = std::stoull(line, nullptr, 16);
      break;
    } else if (in_hold && line.find("call") != std::string::npos &&
               line.find("block_forever()>") != std::string::npos)
      after_call = true;
  }
  REQUIRE(return_address != 0);
  auto frames = sym.symbolize(t.child.pid(), t.maps, t.base + return_address, true);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].inlined);
  CHECK(frames[0].function == "sonde_targets::deep::park_inline()");
  CHECK(frames[0].line > 0);
  CHECK_FALSE(frames[1].inlined);
  CHECK(frames[1].function == "sonde_targets::deep::Holder<int>::hold(int)");
  CHECK(frames[1].line > 0);
  CHECK(frames[1].line != frames[0].line);
  CHECK(frames[1].offset == return_address - syms["sonde_targets::deep::Holder<int>::hold(int)"]);
}

TEST_CASE("target_chain_stripped: .dynsym names through the pid") {
  const std::string exe = sonde::test::build_path("SONDE_TARGET_CHAIN_STRIPPED");
  sonde::test::TempDir dir;
  auto t = start(exe, dir.path + "/log");
  auto syms = nm(exe, true);
  Symbolizer sym;
  for (const char* name : {"chain_inner", "chain_middle", "chain_outer", "chain_thread"}) {
    CAPTURE(name);
    REQUIRE(syms.count(name));
    auto frames = sym.symbolize(t.child.pid(), t.maps, t.base + syms[name] + 3, false);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].function == name);
    CHECK(frames[0].offset == 3);
    CHECK(frames[0].file.empty());
  }
}
