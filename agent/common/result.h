// Errors are values in capture, unwind and symbolize (DESIGN.md §2): a failed
// step says what went wrong and what to do, and the caller decides.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace sonde {

enum class ErrorCode {
  bad_request,   // 400: a parameter the caller can fix
  unauthorized,  // 401
  forbidden,     // 403
  not_found,     // 404
  conflict,      // 409: busy, one heavy capture at a time
  too_large,     // 413
  permission,    // attaching or reading the node was refused (EPERM/EACCES)
  no_node,       // 503: no node attached, or the node is gone
  io,            // a file or /proc read failed
  internal,      // a bug of ours
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;  // one line, says what to do next
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

// The short machine name of a code, as it appears in JSON error bodies.
const char* error_code_name(ErrorCode code);
// The HTTP status that fits a code.
int error_http_status(ErrorCode code);

}  // namespace sonde
