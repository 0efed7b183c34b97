// sonde-demo-node: a small server process worth attaching a debugger to. It has a
// CPU hot spot with a known 75/25 split, an allocator workload in its own arena,
// idle workers parked on a condition variable, and an HTTP health endpoint whose
// behaviour can be switched to fail. `sonde demo` starts it next to an agent.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <exception>
#include <thread>
#include <vector>

#include "health_server.h"
#include "hot_spot.h"
#include "malloc_churn.h"
#include "stop_signal.h"
#include "workers.h"

namespace {

constexpr int kWorkers = 4;
constexpr int kDefaultPort = 9042;

void usage(FILE* out) {
  std::fprintf(out,
               "usage: sonde-demo-node [--port N]\n"
               "\n"
               "A demo node for sonde: threads hot-spot (75%% demo::hot::compute_heavy, 25%%\n"
               "demo::hot::compute_light), malloc-churn, worker-1..%d (idle) and http.\n"
               "\n"
               "  --port N   serve HTTP on 127.0.0.1:N (default %d; 0 = no HTTP server)\n"
               "  --help     show this text\n"
               "\n"
               "HTTP: GET /api/health -> 200 {\"status\":\"ok\"}\n"
               "      POST /demo/health?mode=ok|hang|error|close  changes what /api/health does\n"
               "      GET /demo/work?ms=N  spends N ms of CPU in demo_api_work (a call worth profiling)\n"
               "Prints 'sonde-demo-node ready pid=P port=N' when running; SIGTERM/SIGINT stop it.\n",
               kWorkers, kDefaultPort);
}

// Returns the port, or exits (2 on a bad argument, 0 for --help).
int parse_port(int argc, char** argv) {
  int port = kDefaultPort;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    }
    std::string value;
    if (a == "--port" && i + 1 < argc) {
      value = argv[++i];
    } else if (a.rfind("--port=", 0) == 0) {
      value = a.substr(7);
    } else {
      std::fprintf(stderr, "sonde-demo-node: unknown argument '%s' (see --help)\n", a.c_str());
      std::exit(2);
    }
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 0 || v > 65535) {
      std::fprintf(stderr, "sonde-demo-node: --port needs a number 0..65535, got '%s'\n",
                   value.c_str());
      std::exit(2);
    }
    port = static_cast<int>(v);
  }
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  int port = parse_port(argc, argv);

  // Block the stop signals before any thread starts, so every thread inherits the
  // mask and only the sigwait below receives them: no async handler, and shutdown
  // runs as ordinary code. SIGPIPE is ignored: a client that hangs up is no crash.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGTERM);
  sigaddset(&stop_set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<demo::http::HealthServer> server;
  if (port != 0) {
    try {
      server = std::make_unique<demo::http::HealthServer>(static_cast<unsigned short>(port));
    } catch (const std::exception& e) {
      // Boost's system_error: e.what() reads e.g. "bind: Address already in use".
      std::fprintf(stderr, "sonde-demo-node: cannot listen on 127.0.0.1:%d: %s\n", port, e.what());
      return 2;
    }
  }

  std::latch started(2 + kWorkers + (server ? 1 : 0));
  std::vector<std::thread> threads;
  threads.push_back(demo::hot::start(started));
  threads.push_back(demo::churn::start(started));
  for (auto& t : demo::workers::start(kWorkers, started)) threads.push_back(std::move(t));
  if (server) threads.push_back(server->start(started));
  started.wait();

  std::printf("sonde-demo-node ready pid=%d port=%d\n", static_cast<int>(getpid()),
              server ? server->port() : 0);
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&stop_set, &sig) != 0) {
  }
  demo::stopping().store(true);
  demo::workers::wake_all();
  if (server) server->stop();
  for (auto& t : threads) t.join();
  return 0;
}
