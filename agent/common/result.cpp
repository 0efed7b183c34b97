#include "common/result.h"

namespace sonde {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request: return "bad_request";
    case ErrorCode::unauthorized: return "unauthorized";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::conflict: return "busy";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::permission: return "permission_denied";
    case ErrorCode::no_node: return "node_unavailable";
    case ErrorCode::io: return "io_error";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

int error_http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request: return 400;
    case ErrorCode::unauthorized: return 401;
    case ErrorCode::forbidden: return 403;
    case ErrorCode::not_found: return 404;
    case ErrorCode::conflict: return 409;
    case ErrorCode::too_large: return 413;
    case ErrorCode::permission: return 403;
    case ErrorCode::no_node: return 503;
    case ErrorCode::io: return 500;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

}  // namespace sonde
