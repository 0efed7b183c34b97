// Query strings and url-encoded form bodies: key=value&... with %XX and '+'
// decoded. Repeated keys: the last one wins.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/result.h"

namespace sonde::protocol {

using Params = std::map<std::string, std::string>;

// Splits "path?query" into the path and its parameters. Malformed escapes are errors.
Result<std::pair<std::string, Params>> split_target(const std::string& target);
Result<Params> parse_params(const std::string& text);
Result<std::string> url_decode(const std::string& text, bool plus_is_space);

// Typed reads with a clear 400 message naming the parameter and the range.
Result<std::optional<double>> param_number(const Params& p, const std::string& key, double min, double max);
Result<std::optional<bool>> param_bool(const Params& p, const std::string& key);

}  // namespace sonde::protocol
