#include "protocol/iso_time.h"

#include <chrono>
#include <ctime>

namespace sonde::protocol {

namespace {
std::string format_utc(double epoch_seconds, const char* fmt) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}
}  // namespace

std::string iso_utc(double epoch_seconds) { return format_utc(epoch_seconds, "%Y-%m-%dT%H:%M:%SZ"); }
std::string compact_utc(double epoch_seconds) { return format_utc(epoch_seconds, "%Y%m%dT%H%M%SZ"); }

double now_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace sonde::protocol
