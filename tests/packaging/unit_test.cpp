// The systemd unit passes `systemd-analyze verify`, and the agent speaks
// sd_notify: READY=1 once serving, WATCHDOG=1 while its event loop runs.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "child.h"

using namespace sonde::test;

namespace {

void require_systemd_analyze() {
  if (::system("command -v systemd-analyze >/dev/null") != 0) {
    std::fprintf(stderr, "SKIPPED: systemd-analyze not installed\n");
    std::exit(77);
  }
}

// The units as the build tree has them: sonde.service and the template
// sonde@.service, each pointing at the build's binary.
std::vector<std::string> units() { return {build_path("SONDE_TEST_UNIT"), build_path("SONDE_TEST_TEMPLATE_UNIT")}; }

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

TEST_CASE("systemd-analyze verify accepts both units") {
  require_systemd_analyze();
  TempDir d;
  for (const auto& unit : units()) {
    // --man=no: the man page named in Documentation= is installed by the
    // Debian package, not present in a build tree.
    std::string cmd = "systemd-analyze verify --man=no " + unit + " >" + d.path + "/out 2>&1";
    int rc = std::system(cmd.c_str());
    std::string out = read_file(d.path + "/out");
    INFO(unit << ":\n" << out);
    CHECK(rc == 0);
    // verify prints nothing for a clean unit except lines about other units;
    // a template is verified as instance "i" (sonde-test@i.service).
    std::string name = base_name(unit);
    CHECK(out.find(name.substr(0, name.find('@') == std::string::npos ? name.size() : name.find('@') + 1)) ==
          std::string::npos);
  }
}

TEST_CASE("systemd-analyze security: exposure below 6.0 (MEDIUM) for both units") {
  require_systemd_analyze();
  if (std::system("systemd-analyze security --help 2>/dev/null | grep -q -- --offline") != 0) {
    std::fprintf(stderr, "SKIPPED LOUDLY: this systemd-analyze has no --offline (systemd < 250): the exposure "
                         "score of the units is not checked\n");
    return;
  }
  TempDir d;
  for (const auto& unit : units()) {
    // A template is scored as an instance: copy it under an instance name.
    std::string name = base_name(unit);
    if (name.find("@.") != std::string::npos) name.insert(name.find("@.") + 1, "node");
    std::string copy = d.path + "/" + name;
    REQUIRE(std::system(("cp " + unit + " " + copy).c_str()) == 0);
    std::string cmd = "cd " + d.path + " && systemd-analyze security --offline=yes ./" + name + " >out 2>&1";
    std::system(cmd.c_str());
    std::string out = read_file(d.path + "/out");
    auto at = out.find("Overall exposure level for " + name + ": ");
    INFO(out);
    REQUIRE(at != std::string::npos);
    double score = std::atof(out.c_str() + at + std::string("Overall exposure level for " + name + ": ").size());
    std::fprintf(stderr, "systemd-analyze security --offline=yes %s: exposure %.1f\n", name.c_str(), score);
    CHECK(score > 0.0);
    CHECK(score < 6.0);
  }
}

TEST_CASE("the agent sends READY=1 and WATCHDOG=1 to NOTIFY_SOCKET") {
  TempDir d;
  std::string path = d.path + "/notify.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Child node = Child::spawn({build_path("SONDE_TARGET_CHAIN_C")}, d.path + "/node.out");
  REQUIRE(wait_for_text(d.path + "/node.out", "ready"));
  Child agent = Child::spawn({build_path("SONDE_BIN"), "agent", "--pid", std::to_string(node.pid()), "--http", "off",
                              "--socket", d.path + "/s.sock", "--logs", d.path + "/logs"},
                             d.path + "/agent.out",
                             {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"});
  std::string seen;
  char buf[512];
  for (int i = 0; i < 10 && (seen.find("READY=1") == std::string::npos || seen.find("WATCHDOG=1") == std::string::npos); ++i) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
    seen += "\n";
  }
  CHECK(seen.find("READY=1") != std::string::npos);
  CHECK(seen.find("WATCHDOG=1") != std::string::npos);
  CHECK(agent.stop(SIGTERM) == 0);
  ::close(fd);
}
