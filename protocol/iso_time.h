// Times in answers are ISO 8601 UTC with a Z ("2026-11-28T10:00:00Z").
#pragma once

#include <string>

namespace sonde::protocol {

std::string iso_utc(double epoch_seconds);
// Compact form for file names: YYYYmmddTHHMMSSZ.
std::string compact_utc(double epoch_seconds);
double now_epoch();

}  // namespace sonde::protocol
