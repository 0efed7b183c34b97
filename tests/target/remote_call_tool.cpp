// The injected call from the command line, for tests: runs one function of a
// process through target::run_remote_calls and prints what happened; can kill
// itself (SIGKILL, as `kill -9` would) at a chosen phase of the call.
// Usage: remote_call_tool PID FUNCTION [--tid T] [--timeout-ms N]
//                         [--kill-at PHASE] [--module PART] [ARG...]
// An ARG of "@data" is the node address of the call's data area.
// Prints "ok tid=T calls=N stopped_us=S away_us=A" or "error: MESSAGE".
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <string>

#include "target/maps.h"
#include "target/node_symbol.h"
#include "target/remote_call.h"

using namespace sonde;

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  pid_t pid = std::atoi(argv[1]);
  std::string fn = argv[2], kill_at, module;
  target::RemoteCallOptions o;
  o.purpose = "remote_call_tool";
  std::vector<std::string> raw;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--tid" && i + 1 < argc) o.tid = std::atoi(argv[++i]);
    else if (a == "--timeout-ms" && i + 1 < argc) o.timeout = std::chrono::milliseconds(std::atol(argv[++i]));
    else if (a == "--kill-at" && i + 1 < argc) kill_at = argv[++i];
    else if (a == "--module" && i + 1 < argc) module = argv[++i];
    else raw.push_back(a);
  }
  auto t0 = std::chrono::steady_clock::now();
  o.on_phase = [&](target::CallPhase p) {
    std::printf("phase %s\n", target::phase_name(p));
    if (std::getenv("REMOTE_CALL_TOOL_TIMES"))
      std::printf("  at %.1f us\n", std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    std::fflush(stdout);
    if (kill_at == target::phase_name(p)) ::kill(::getpid(), SIGKILL);
  };
  auto maps = target::read_maps(pid);
  if (!maps) return std::printf("error: %s\n", maps.error().message.c_str()), 1;
  auto sym = target::find_node_function(pid, *maps, fn, module);
  if (!sym) return std::printf("error: %s\n", sym.error().message.c_str()), 1;
  auto rec = target::run_remote_calls(pid, o, [&](target::Session& s) -> Result<void> {
    std::vector<uint64_t> args;
    for (auto& a : raw) args.push_back(a == "@data" ? s.data_address() : std::strtoull(a.c_str(), nullptr, 0));
    std::vector<uint8_t> data(256, 0);
    auto r = s.call(sym->address, args, data, fn);
    if (r) {
      std::printf("data");
      for (size_t i = 0; i < 80; i += 8) {
        uint64_t v;
        std::memcpy(&v, data.data() + i, 8);
        std::printf(" %llu", static_cast<unsigned long long>(v));
      }
      std::printf("\n");
    }
    return r;
  });
  if (!rec) return std::printf("error: %s\n", rec.error().message.c_str()), 1;
  std::printf("ok tid=%d calls=%d stopped_us=%.1f away_us=%.1f\n", rec->tid, rec->calls, rec->stopped_ns / 1e3,
              rec->away_ns / 1e3);
  return 0;
}
