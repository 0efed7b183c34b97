// Decides whether a request may reach its route: the unix socket by peer
// credentials, TCP by bearer token when --jwt-key is set. Denials are 401
// (no or bad token) or 403 (no role, or a refused peer), each with a JSON
// error that says which, and a log line.
#pragma once

#include <optional>
#include <string>

#include "serve/auth/access.h"
#include "serve/auth/jwt.h"
#include "serve/auth/peer_allow.h"
#include "serve/http_types.h"

namespace sonde::serve::auth {

inline constexpr const char* admin_role = "group:Admin";

class Authorizer {
 public:
  Authorizer(std::optional<JwtVerifier> jwt, bool public_status, PeerAllowList socket_allow)
      : jwt_(std::move(jwt)), public_status_(public_status), socket_allow_(std::move(socket_allow)) {}

  // nullopt: allowed; else the answer to send instead.
  std::optional<Response> check(const Request& req, Access access) const;

 private:
  std::optional<JwtVerifier> jwt_;
  bool public_status_;
  PeerAllowList socket_allow_;
};

}  // namespace sonde::serve::auth
