#include "serve/http_types.h"

#include "protocol/error_body.h"

namespace sonde::serve {

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body, std::string type) {
  Response r;
  r.status = status;
  r.content_type = std::move(type);
  r.body = std::move(body);
  return r;
}

Response Response::file_at(std::string path, std::string type) {
  Response r;
  r.content_type = std::move(type);
  r.file = std::move(path);
  return r;
}

Response Response::error(const Error& e) { return json(error_http_status(e.code), protocol::error_json(e)); }

Response Response::error(int status, const std::string& code, const std::string& message) {
  return json(status, protocol::error_json(code, message));
}

}  // namespace sonde::serve
