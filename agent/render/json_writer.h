// RapidJSON writing for every JSON renderer (stacks, the json and speedscope
// profiles, the flamegraph's data): strings from the node made valid UTF-8
// first, so a bad byte in a thread name never makes the whole document
// unparsable; and the "absent when unknown" rule in one place.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "render/profile_strings.h"

namespace sonde::render {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void json_string(JsonWriter& w, const std::string& value) {
  std::string clean = profile_text::valid_utf8(value);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

inline void json_key_string(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  json_string(w, value);
}

// Only when known: an unknown fact is left out, not written as "".
inline void json_key_string_if(JsonWriter& w, const char* key, const std::string& value) {
  if (!value.empty()) json_key_string(w, key, value);
}

}  // namespace sonde::render
