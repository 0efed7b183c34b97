#include "daemon/sigusr1_dumper.h"

#include <pthread.h>
#include <signal.h>

#include <ctime>

namespace sonde::daemon {

BlockSigusr1::BlockSigusr1() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Sigusr1Dumper::Sigusr1Dumper(std::function<void()> write_dump) : write_dump_(std::move(write_dump)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sonde-sigusr1");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    // A short timeout lets stop() end the thread without another signal.
    timespec tick{0, 200 * 1000 * 1000};
    while (!stop_) {
      if (sigtimedwait(&set, nullptr, &tick) == SIGUSR1 && !stop_) write_dump_();
    }
  });
}

Sigusr1Dumper::~Sigusr1Dumper() { stop(); }

void Sigusr1Dumper::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace sonde::daemon
