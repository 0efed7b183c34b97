#include "protocol/query.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace sonde::protocol {

Result<std::string> url_decode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size())
        return fail(ErrorCode::bad_request, "malformed %-escape at the end of \"" + text + "\"");
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return fail(ErrorCode::bad_request, "malformed %-escape in \"" + text + "\"");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<Params> parse_params(const std::string& text) {
  Params params;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string::npos) amp = text.size();
    std::string pair = text.substr(pos, amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      auto key = url_decode(pair.substr(0, eq), true);
      if (!key) return std::unexpected(key.error());
      std::string raw = eq == std::string::npos ? "" : pair.substr(eq + 1);
      auto value = url_decode(raw, true);
      if (!value) return std::unexpected(value.error());
      params[*key] = *value;
    }
    pos = amp + 1;
  }
  return params;
}

Result<std::pair<std::string, Params>> split_target(const std::string& target) {
  size_t q = target.find('?');
  auto path = url_decode(target.substr(0, q), false);
  if (!path) return std::unexpected(path.error());
  if (q == std::string::npos) return std::make_pair(*path, Params{});
  auto params = parse_params(target.substr(q + 1));
  if (!params) return std::unexpected(params.error());
  return std::make_pair(*path, *params);
}

Result<std::optional<double>> param_number(const Params& p, const std::string& key, double min, double max) {
  auto it = p.find(key);
  if (it == p.end()) return std::optional<double>{};
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || !end || *end != '\0' || !std::isfinite(v))
    return fail(ErrorCode::bad_request, "parameter " + key + "=\"" + it->second + "\" is not a number");
  if (v < min || v > max)
    return fail(ErrorCode::bad_request,
                fmt::format("parameter {}={} is out of range [{:g}, {:g}]", key, it->second, min, max));
  return std::optional<double>{v};
}

Result<std::optional<bool>> param_bool(const Params& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end()) return std::optional<bool>{};
  const std::string& v = it->second;
  if (v == "true" || v == "1" || v == "yes" || v.empty()) return std::optional<bool>{true};
  if (v == "false" || v == "0" || v == "no") return std::optional<bool>{false};
  return fail(ErrorCode::bad_request, "parameter " + key + "=\"" + v + "\" must be true or false");
}

}  // namespace sonde::protocol
