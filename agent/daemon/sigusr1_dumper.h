// SIGUSR1 to the agent writes stacktrace.html into the logs folder, rotating
// the earlier ones (the seed's way to get stacks when the API is broken). A
// thread of its own waits for the signal, so this works even when the HTTP
// side is wedged. The signal must be blocked in every thread of the agent:
// construct a BlockSigusr1 before any thread starts.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace sonde::daemon {

struct BlockSigusr1 {
  BlockSigusr1();
};

class Sigusr1Dumper {
 public:
  // `write_dump` takes the dump and writes it; it is called on this thread.
  explicit Sigusr1Dumper(std::function<void()> write_dump);
  ~Sigusr1Dumper();
  void stop();

 private:
  std::function<void()> write_dump_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sonde::daemon
