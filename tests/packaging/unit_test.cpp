// The systemd unit passes `systemd-analyze verify`, and the agent speaks
// sd_notify: READY=1 once serving, WATCHDOG=1 while its event loop runs.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "child.h"

using namespace sonde::test;

TEST_CASE("systemd-analyze verify accepts the unit") {
  if (::system("command -v systemd-analyze >/dev/null") != 0) {
    std::fprintf(stderr, "SKIPPED: systemd-analyze not installed\n");
    std::exit(77);
  }
  TempDir d;
  std::string unit = build_path("SONDE_TEST_UNIT");
  std::string cmd = "systemd-analyze verify " + unit + " >" + d.path + "/out 2>&1";
  int rc = std::system(cmd.c_str());
  std::string out = read_file(d.path + "/out");
  INFO(out);
  CHECK(rc == 0);
  // verify prints nothing for a clean unit except lines about other units.
  CHECK(out.find("sonde-test.service:") == std::string::npos);
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
