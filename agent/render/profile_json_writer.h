// RapidJSON writing for the JSON profile formats (speedscope, json): strings
// from the node made valid UTF-8 first, so a bad byte in a thread name never
// makes the whole file unparsable.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "render/profile_strings.h"

namespace sonde::render::profile_text {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void json_string(JsonWriter& w, const std::string& value) {
  std::string clean = valid_utf8(value);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

inline void json_key_string(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  json_string(w, value);
}

}  // namespace sonde::render::profile_text
