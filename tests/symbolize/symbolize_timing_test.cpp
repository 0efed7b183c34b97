// Cold and warm symbolization of ~100 addresses in the test process (its own
// code and libc with its debug file), printed for the report; the only
// assertion is that the warm pass loads nothing (DESIGN.md §4: budgets are
// measured, not asserted in unit tests).
#include <dlfcn.h>
#include <unistd.h>

#include <chrono>

#include <doctest/doctest.h>

#include "subjects.h"
#include "symbolize/symbolizer.h"
#include "symbolize_test_util.h"

using sonde::symbolize::Symbolizer;

TEST_CASE("timing: ~100 addresses cold, then warm") {
  auto maps = sonde::test::self_maps();
  std::vector<uintptr_t> pcs;
  const char* libc_names[] = {"nanosleep", "pthread_cond_wait", "epoll_wait", "read", "write",
                              "malloc", "free", "memcpy", "strlen", "printf", "fopen", "fclose",
                              "pthread_mutex_lock", "pthread_mutex_unlock", "poll", "select",
                              "accept", "connect", "recv", "send", "qsort", "getenv", "clock_gettime",
                              "sched_yield", "pthread_create", "pthread_join", "open", "close",
                              "mmap", "munmap", "sigaction", "pause", "usleep", "sleep", "abort"};
  for (const char* n : libc_names)
    for (int off : {1, 5, 17}) pcs.push_back(sonde::test::libc_address(n) + off);
  pcs.push_back(sonde_test::deep::Box<int>::get(1).pc);
  pcs.push_back(sonde_test::call_inlined().pc);
  pcs.push_back(subject_c_function(1).pc);
  while (pcs.size() < 100) pcs.push_back(pcs[pcs.size() % 7] + 1);

  Symbolizer sym;
  auto pass = [&] {
    auto t0 = std::chrono::steady_clock::now();
    size_t named = 0;
    for (auto pc : pcs) named += !sonde::test::outer(sym.symbolize(::getpid(), maps, pc, true)).function.empty();
    auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    return std::make_pair(us, named);
  };
  auto [cold_us, cold_named] = pass();
  auto loaded = sym.stats().modules_loaded;
  auto [warm_us, warm_named] = pass();
  MESSAGE("symbolize " << pcs.size() << " addresses: cold " << cold_us / 1000 << " ms ("
                       << loaded << " modules loaded), warm " << warm_us << " us ("
                       << warm_us / pcs.size() << " us/address); named " << warm_named);
  CHECK(sym.stats().modules_loaded == loaded);
  CHECK(warm_named == cold_named);
  CHECK(warm_named >= pcs.size() * 9 / 10);
}
