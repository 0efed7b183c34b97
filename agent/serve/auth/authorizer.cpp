#include "serve/auth/authorizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/iso_time.h"

namespace sonde::serve::auth {

std::optional<Response> Authorizer::check(const Request& req, Access access) const {
  if (req.transport == Transport::unix_socket) {
    // The socket's file mode is the first gate; the allow list the second.
    if (socket_allow_.allows(req.peer_uid, req.peer_gid)) return std::nullopt;
    spdlog::warn("refused {} on the unix socket: uid {} gid {} is not in --socket-allow", req.target, req.peer_uid,
                 req.peer_gid);
    return Response::error(403, "forbidden", "this user may not use the agent's socket (see --socket-allow)");
  }
  if (!jwt_ || access == Access::open) return std::nullopt;
  if (access == Access::status && public_status_) return std::nullopt;
  std::string header = req.header("authorization");
  const std::string bearer = "Bearer ";
  if (header.size() <= bearer.size() || !std::equal(bearer.begin(), bearer.end(), header.begin(),
                                                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return Response::error(401, "unauthorized", "this route needs an Authorization: Bearer token");
  }
  auto claims = jwt_->verify(std::string_view(header).substr(bearer.size()), protocol::now_epoch());
  if (!claims) {
    spdlog::warn("refused {} from {}: {}", req.target, req.peer, claims.error().message);
    return Response::error(401, "unauthorized", claims.error().message);
  }
  if (access == Access::admin &&
      std::find(claims->roles.begin(), claims->roles.end(), admin_role) == claims->roles.end()) {
    spdlog::warn("refused {} from {} ({}): no {} role", req.target, req.peer, claims->subject, admin_role);
    return Response::error(403, "forbidden", std::string("this route needs the ") + admin_role + " role");
  }
  return std::nullopt;
}

}  // namespace sonde::serve::auth
