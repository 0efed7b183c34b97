// What a route needs from the caller (DESIGN.md §1 "Auth").
#pragma once

namespace sonde::serve {

enum class Access {
  open,    // /api/health: liveness probes, tells nothing but whether the agent works
  status,  // /api/status, /metrics: any valid token, or none with --public-status
  admin,   // anything that exposes or freezes the node: the group:Admin role
};

}  // namespace sonde::serve
