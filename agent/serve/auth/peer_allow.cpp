#include "serve/auth/peer_allow.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace sonde::serve::auth {

Result<PeerAllowList> PeerAllowList::parse(const std::string& spec) {
  PeerAllowList list;
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    bool is_group = item[0] == '@';
    std::string name = is_group ? item.substr(1) : item;
    char* end = nullptr;
    long n = std::strtol(name.c_str(), &end, 10);
    bool numeric = !name.empty() && end && *end == '\0' && n >= 0;
    if (is_group) {
      if (numeric) {
        list.gids_.push_back(static_cast<gid_t>(n));
      } else if (struct group* g = ::getgrnam(name.c_str())) {
        list.gids_.push_back(g->gr_gid);
      } else {
        return fail(ErrorCode::bad_request, "--socket-allow: no group \"" + name + "\"");
      }
    } else {
      if (numeric) {
        list.uids_.push_back(static_cast<uid_t>(n));
      } else if (passwd* p = ::getpwnam(name.c_str())) {
        list.uids_.push_back(p->pw_uid);
      } else {
        return fail(ErrorCode::bad_request, "--socket-allow: no user \"" + name + "\"");
      }
    }
  }
  return list;
}

bool PeerAllowList::allows(uid_t uid, gid_t gid) const {
  if (uid == 0 || empty()) return true;
  if (std::find(uids_.begin(), uids_.end(), uid) != uids_.end()) return true;
  if (std::find(gids_.begin(), gids_.end(), gid) != gids_.end()) return true;
  // Supplementary groups of the peer's user.
  if (passwd* p = ::getpwuid(uid)) {
    int n = 64;
    std::vector<gid_t> groups(static_cast<size_t>(n));
    if (::getgrouplist(p->pw_name, gid, groups.data(), &n) < 0) {
      groups.resize(static_cast<size_t>(n));
      ::getgrouplist(p->pw_name, gid, groups.data(), &n);
    }
    groups.resize(static_cast<size_t>(std::max(n, 0)));
    for (gid_t g : groups)
      if (std::find(gids_.begin(), gids_.end(), g) != gids_.end()) return true;
  }
  return false;
}

}  // namespace sonde::serve::auth
