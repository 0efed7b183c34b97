// `sonde doctor` for real: as root against a target (exit 0), as a user
// without capabilities via setpriv (exit 1, the ptrace permission FAIL with
// its fix), a pid that does not exist (1), no --pid (2). The target is never
// stopped: its TracerPid stays 0 throughout and it keeps running.
#include <doctest/doctest.h>
#include <signal.h>

#include "child.h"

using namespace sonde::test;

namespace {

struct Run {
  int rc = -1;
  std::string out;
};

Run run(const std::string& cmd, const std::string& dir) {
  Run r;
  int status = std::system((cmd + " >" + dir + "/out 2>&1").c_str());
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(dir + "/out");
  return r;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("sonde doctor: exit status and fixes") {
  require_root("runs the doctor as root and, via setpriv, as nobody");
  TempDir d;
  Child node = Child::spawn({build_path("SONDE_TARGET_CHAIN_C")}, d.path + "/node.out");
  REQUIRE(wait_for_text(d.path + "/node.out", "ready"));
  std::string sonde = build_path("SONDE_BIN");
  std::string pid = std::to_string(node.pid());

  SUBCASE("as root: attach works") {
    Run r = run(sonde + " doctor --pid " + pid, d.path);
    INFO(r.out);
    CHECK(r.rc == 0);
    CHECK(has(r.out, "ok    ptrace permission:"));
    CHECK(has(r.out, "ok    node: pid " + pid + " exists"));
    CHECK(has(r.out, "=> attach to pid " + pid + " will work"));
    Run j = run(sonde + " doctor --json --pid " + pid, d.path);
    CHECK(j.rc == 0);
    CHECK(has(j.out, "\"attach\":true"));
  }
  SUBCASE("as nobody without capabilities: FAIL with the fix, exit 1") {
    if (std::system("command -v setpriv >/dev/null") != 0) {
      std::fprintf(stderr, "SKIPPED: setpriv (util-linux) not installed\n");
      std::exit(77);
    }
    Run r = run("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " + sonde + " doctor --pid " + pid,
                d.path);
    INFO(r.out);
    CHECK(r.rc == 1);
    CHECK(has(r.out, "FAIL  ptrace permission: the kernel refuses"));
    CHECK(has(r.out, "the node runs as uid 0, the agent as uid 65534 without CAP_SYS_PTRACE"));
    CHECK(has(r.out, "fix: run the agent as the node's user, or run it as root, or grant CAP_SYS_PTRACE"));
    CHECK(has(r.out, "warn  capabilities: uid 65534 lacks CAP_SYS_PTRACE"));
    CHECK(has(r.out, "warn  bpf(): loading a trivial perf_event program failed"));
    CHECK(has(r.out, "warn  sampler: ptrace fallback"));
    CHECK(has(r.out, "will NOT work"));
  }
  SUBCASE("a pid that does not exist: exit 1") {
    Run r = run(sonde + " doctor --pid 2147483646", d.path);
    CHECK(r.rc == 1);
    CHECK(has(r.out, "FAIL  node: no process 2147483646"));
  }
  SUBCASE("usage: no --pid gives 2") {
    CHECK(run(sonde + " doctor", d.path).rc == 2);
    CHECK(run(sonde + " doctor --pid x", d.path).rc == 2);
  }
  // The doctor never attached: no tracer, and the node still runs.
  CHECK(has(read_file("/proc/" + pid + "/status"), "TracerPid:\t0\n"));
  CHECK(node.running());
  CHECK(node.stop(SIGTERM) == 0);
}
