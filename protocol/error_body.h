// Error bodies: {"error": {"code": "...", "message": "..."}} (DESIGN.md §1).
#pragma once

#include <string>

#include "common/result.h"

namespace sonde::protocol {

std::string error_json(const std::string& code, const std::string& message);
std::string error_json(const Error& e);

}  // namespace sonde::protocol
