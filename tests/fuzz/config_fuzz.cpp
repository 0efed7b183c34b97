// The --config file is the operator's, but a typo must be an error, never a
// crash: any JSON text through the same path as the file, then validate().
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string json(reinterpret_cast<const char*>(data), size);
  sonde::config::AgentConfig cfg;
  if (sonde::config::apply_config_json(json, "fuzz.json", {"socket"}, cfg))
    (void)sonde::config::validate(cfg);
  return 0;
}
