// Small string helpers shared by the profile formats: names come from the
// node (symbols, thread names, paths) and are bytes, not trusted text.
#pragma once

#include <string>
#include <string_view>

namespace sonde::render::profile_text {

// Invalid UTF-8 bytes become U+FFFD: JSON, marshal's 'u' strings and
// protobuf strings must all be valid UTF-8 or the reader rejects the file.
std::string valid_utf8(std::string_view s);

// The last path component ("libc.so.6" of "/usr/lib/.../libc.so.6").
std::string base_name(const std::string& path);

// `s` with each character of `bad` replaced by `with` (';' in folded stacks,
// newlines in line-based formats).
std::string replace_chars(std::string_view s, std::string_view bad, char with);

}  // namespace sonde::render::profile_text
