// startup_options.json sits in the data folder and may be half-written by a
// crash: any text must give a decision (safe mode or not), never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "schedule/safe_mode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto mode = sonde::schedule::parse_startup_options(text, "startup_options.json");
  (void)mode;
  return 0;
}
