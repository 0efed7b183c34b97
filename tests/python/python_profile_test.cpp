// Python frames in CPU profiles, per CPython version (doctest suites as in
// python_stacks_test.cpp): the eBPF probe reads the sampled thread's frame
// chain at the tick; the files are read back by Python's pstats and the
// other formats' own readers (tests/integration/profile_shares.py).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <sstream>

#include "agent_process.h"
#include "child.h"
#include "python_support.h"

using namespace sonde::test;

namespace {

void require_ebpf() {
  require_root("eBPF sampling needs root (CAP_BPF + CAP_PERFMON)");
}

// Output of a helper script run with Debian's python3.
std::string run_python_tool(const std::vector<std::string>& args) {
  TempDir tmp;
  std::vector<std::string> argv{"/usr/bin/python3"};
  argv.insert(argv.end(), args.begin(), args.end());
  Child c = Child::spawn(argv, tmp.path + "/out");
  REQUIRE(c.wait(std::chrono::seconds(60)) == 0);
  return read_file(tmp.path + "/out");
}

struct CpuNode {
  TempDir dir;
  Child child;
  std::string script = python_script("cpu_split.py");
  CpuNode(const std::string& python, const std::string& mode) {
    child = Child::spawn({python, script, mode}, dir.path + "/out");
    REQUIRE_MESSAGE(wait_for_text(dir.path + "/out", "ready", std::chrono::seconds(20)), read_file(dir.path + "/out"));
  }
};

// sampler "ptrace": the fallback sampler, at 499 Hz (each tick stops the thread).
std::string profile_file(const CpuNode& node, const std::string& dir, const std::string& format,
                         const std::vector<std::string>& extra = {}, const std::string& seconds = "5",
                         const std::string& sampler = "ebpf") {
  std::string path = dir + "/p." + format;
  std::vector<std::string> args{"profile",  "--pid",   std::to_string(node.child.pid()),
                                "--seconds", seconds,  "--hz",
                                sampler == "ptrace" ? "499" : "999",
                                "--sampler", sampler,  "--format",
                                format,      "-o",     path};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string out, err;
  REQUIRE_MESSAGE(run_sonde(args, &out, &err, 120) == 0, err);
  // The CLI says why when Python frames were not read ("sonde profile: <why>"): only the
  // file written and the sampler may be said here.
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("sonde profile: ", 0) == 0)
      CHECK_MESSAGE((line.rfind("sonde profile: wrote ", 0) == 0 ||
                     line.rfind("sonde profile: sampled with ptrace", 0) == 0),
                    line);
  return path;
}

// "heavy" share of heavy + light, as profile_shares.py reads FORMAT.
double heavy_percent(const std::string& format, const std::string& path) {
  std::string out = run_python_tool({build_path("SONDE_PROFILE_SHARES"), format, path, "heavy", "light"});
  std::map<std::string, double> v;
  std::istringstream in(out);
  for (std::string k; in >> k;) in >> v[k];
  INFO(out);
  REQUIRE(v["heavy"] + v["light"] > 1500);
  return 100 * v["heavy"] / (v["heavy"] + v["light"]);
}

void check_split(const std::string& which, bool every_format) {
  require_ebpf();
  std::string python = require_python(which);
  CpuNode node(python, "split");
  TempDir tmp;
  // pstats, read by pstats: cProfile's keys (file, first line, name), 75/25.
  std::string path = profile_file(node, tmp.path, "pstats");
  std::string out = run_python_tool({python_script("pstats_keys.py"), path, "heavy", "light"});
  INFO(out);
  std::istringstream in(out);
  std::map<std::string, double> nc;
  for (std::string line; std::getline(in, line);) {
    std::istringstream l(line);
    std::string name, file;
    int def = 0;
    double n = 0, cum = 0;
    l >> name >> file;
    if (name == "TOTAL" || file == "missing") continue;
    l >> def >> n >> cum;
    CHECK(file == node.script);
    CHECK(def == marker_line(node.script, name));
    nc[name] += n;
  }
  // 3 points must be several standard errors: sqrt(.75 * .25 / 1500) = 1.1 points.
  REQUIRE(nc["heavy"] + nc["light"] > 1500);
  double share = 100 * nc["heavy"] / (nc["heavy"] + nc["light"]);
  CHECK_MESSAGE(std::abs(share - 75) <= 3, "heavy share " << share);
  if (!every_format) return;
  for (const std::string format : {"collapsed", "calltree", "speedscope", "json"}) {
    CAPTURE(format);
    if (format == "calltree" && ::access("/usr/bin/callgrind_annotate", X_OK) != 0) continue;
    double h = heavy_percent(format, profile_file(node, tmp.path, format));
    CHECK(std::abs(h - 75) <= 3);
  }
}

// burn() computes, rest() sleeps: CPU samples belong to burn(). A Python
// stack read after the sample arrived would find rest() most of the time.
void check_at_the_tick(const std::string& which) {
  require_ebpf();
  CpuNode node(require_python(which), "bursty");
  TempDir tmp;
  std::string path = profile_file(node, tmp.path, "collapsed", {"--python-only"}, "3");
  std::string text = read_file(path);
  INFO(text.substr(0, 2000));
  double burn = 0, rest = 0, eval = 0, total = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.rfind(' ');
    double n = std::stod(line.substr(sp + 1));
    total += n;
    if (line.find(";burn") != std::string::npos) burn += n;
    if (line.find(";rest") != std::string::npos) rest += n;
    if (line.find("_PyEval") != std::string::npos) eval += n;
  }
  REQUIRE(burn + rest > 50);
  CHECK_MESSAGE(100 * burn / (burn + rest) >= 90, "burn " << burn << " rest " << rest);
  CHECK(eval == 0);  // --python-only: no native frame at all
}

// The ptrace fallback (no eBPF on the host) reads the Python frame chain
// while it holds the thread stopped: the same 3:1 split, and the profile's
// thread carries threading's name rather than the OS one.
void check_ptrace(const std::string& which) {
  require_ptrace();
  std::string python = require_python(which);
  CpuNode node(python, "split");
  TempDir tmp;
  std::string path = profile_file(node, tmp.path, "json", {}, "6", "ptrace");
  std::string out = run_python_tool({build_path("SONDE_PROFILE_SHARES"), "json", path, "heavy", "light"});
  INFO(out);
  std::map<std::string, double> v;
  std::istringstream in(out);
  for (std::string k; in >> k;) in >> v[k];
  // 3 points are still 2.7 standard errors at 1000 samples.
  REQUIRE(v["heavy"] + v["light"] > 1000);
  double share = 100 * v["heavy"] / (v["heavy"] + v["light"]);
  CHECK_MESSAGE(std::abs(share - 75) <= 3, "heavy share " << share);
  std::string json = read_file(path);
  CHECK_MESSAGE(json.find("\"sampler\":\"ptrace\"") != std::string::npos, json.substr(0, 400));
  CHECK_MESSAGE(json.find("\"name\":\"MainThread\"") != std::string::npos, json.substr(0, 400));
}

}  // namespace

TEST_SUITE("3.11") {
  TEST_CASE("CPython 3.11: a 3:1 split profiles 75/25 in pstats with cProfile's keys") { check_split("3.11", false); }
  TEST_CASE("CPython 3.11: Python frames are the ones at the tick") { check_at_the_tick("3.11"); }
  TEST_CASE("CPython 3.11: the ptrace fallback sampler reads Python frames too") { check_ptrace("3.11"); }
}
TEST_SUITE("3.12") {
  TEST_CASE("CPython 3.12: a 3:1 split profiles 75/25 in pstats with cProfile's keys") { check_split("3.12", false); }
  TEST_CASE("CPython 3.12: Python frames are the ones at the tick") { check_at_the_tick("3.12"); }
  TEST_CASE("CPython 3.12: the ptrace fallback sampler reads Python frames too") { check_ptrace("3.12"); }
}
TEST_SUITE("3.13") {
  TEST_CASE("CPython 3.13: a 3:1 split profiles 75/25 in pstats with cProfile's keys") { check_split("3.13", false); }
  TEST_CASE("CPython 3.13: Python frames are the ones at the tick") { check_at_the_tick("3.13"); }
  TEST_CASE("CPython 3.13: the ptrace fallback sampler reads Python frames too") { check_ptrace("3.13"); }
}
TEST_SUITE("debian") {
  TEST_CASE("Debian's python3.11: 75/25 in pstats and in every format's own reader") { check_split("debian", true); }
  TEST_CASE("Debian's python3.11: Python frames are the ones at the tick") { check_at_the_tick("debian"); }
  TEST_CASE("Debian's python3.11: the ptrace fallback sampler reads Python frames too") { check_ptrace("debian"); }
}
