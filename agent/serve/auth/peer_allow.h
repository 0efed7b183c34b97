// Who may use the unix socket beyond its file mode: uids and @groups from
// --socket-allow, checked against the peer's SO_PEERCRED. Root always may.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::serve::auth {

class PeerAllowList {
 public:
  // "0,1000,@sonde" (names or numbers); empty: everyone who can open the socket.
  static Result<PeerAllowList> parse(const std::string& spec);
  bool empty() const { return uids_.empty() && gids_.empty(); }
  bool allows(uid_t uid, gid_t gid) const;

 private:
  std::vector<uid_t> uids_;
  std::vector<gid_t> gids_;
};

}  // namespace sonde::serve::auth
