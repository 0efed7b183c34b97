// What the container examples rely on: the node's binary need not be in the
// agent's filesystem. The node here runs from a tmpfs mounted in a private
// mount namespace of its own (as a container's image would be), so its path
// does not exist for the agent; stacks must still name its functions, read
// through /proc/PID/root, and the doctor must say the namespaces differ.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "child.h"

using namespace sonde::test;

namespace {

struct Run {
  int rc = -1;
  std::string out;
};

Run run(const std::string& cmd, const std::string& out_path) {
  Run r;
  int status = std::system((cmd + " >" + out_path + " 2>&1").c_str());
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out_path);
  return r;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a node whose binary exists only in its own mount namespace") {
  require_root("mounts a tmpfs in a private mount namespace");
  require_ptrace();
  if (std::system("command -v unshare >/dev/null") != 0) {
    std::fprintf(stderr, "SKIPPED: unshare (util-linux) not installed\n");
    std::exit(77);
  }
  TempDir d;
  // The mount point exists for everyone, empty; only the node's namespace
  // has the tmpfs with the binary on it.
  std::string hidden = d.path + "/image";
  REQUIRE(std::system(("mkdir -p " + hidden).c_str()) == 0);
  std::string script = "mount -t tmpfs tmpfs " + hidden + " && cp " + build_path("SONDE_TARGET_CHAIN_C") + " " +
                       hidden + "/node && exec " + hidden + "/node";
  // unshare and sh exec: the Child's pid is the node's.
  Child node = Child::spawn({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script},
                            d.path + "/node.out");
  REQUIRE(wait_for_text(d.path + "/node.out", "ready"));
  std::string pid = std::to_string(node.pid());
  std::string exe = hidden + "/node";
  REQUIRE(::access(exe.c_str(), F_OK) != 0);  // not in the agent's view
  char link[4096] = {};
  REQUIRE(::readlink(("/proc/" + pid + "/exe").c_str(), link, sizeof link - 1) > 0);
  CHECK(std::string(link) == exe);

  std::string sonde = build_path("SONDE_BIN");
  Run stacks = run(sonde + " stacks --pid " + pid, d.path + "/stacks.out");
  INFO(stacks.out);
  CHECK(stacks.rc == 0);
  CHECK(has(stacks.out, "chain_inner"));
  CHECK(has(stacks.out, "chain_middle"));
  CHECK(has(stacks.out, "chain_outer"));

  Run doctor = run(sonde + " doctor --pid " + pid, d.path + "/doctor.out");
  INFO(doctor.out);
  CHECK(doctor.rc == 0);
  CHECK(has(doctor.out, "ok    mount namespace: different mount namespace"));
  CHECK(has(doctor.out, "read through /proc/" + pid + "/root"));
  CHECK(has(doctor.out, "debug info: executable: " + exe));
  CHECK(has(doctor.out, "full symbol table"));

  CHECK(has(read_file("/proc/" + pid + "/status"), "TracerPid:\t0\n"));
  CHECK(node.stop(SIGTERM) == 0);
}
