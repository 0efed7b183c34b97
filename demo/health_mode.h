// What the demo's /api/health does, switchable at run time with
// POST /demo/health?mode=ok|hang|error|close so the agent's health checker
// (and its incident bundles) can be exercised against a real failing node.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string_view>

namespace demo::http {

enum class Mode { ok, hang, error, close };

std::optional<Mode> parse_mode(std::string_view text);
std::string_view mode_name(Mode m);

class ModeSwitch {
 public:
  void set(Mode m);
  Mode get();
  // Waits while the mode is `hang`; returns the mode that ended the wait, or
  // nullopt when the node is shutting down.
  std::optional<Mode> wait_unless_hang();
  // Wakes every hung request (shutdown).
  void wake_all();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Mode mode_ = Mode::ok;
};

}  // namespace demo::http
