#include "health_mode.h"

#include "stop_signal.h"

namespace demo::http {

std::optional<Mode> parse_mode(std::string_view text) {
  if (text == "ok") return Mode::ok;
  if (text == "hang") return Mode::hang;
  if (text == "error") return Mode::error;
  if (text == "close") return Mode::close;
  return std::nullopt;
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::ok: return "ok";
    case Mode::hang: return "hang";
    case Mode::error: return "error";
    case Mode::close: return "close";
  }
  return "?";
}

void ModeSwitch::set(Mode m) {
  {
    std::lock_guard lock(mutex_);
    mode_ = m;
  }
  changed_.notify_all();  // a request hung in `hang` now answers in the new mode
}

Mode ModeSwitch::get() {
  std::lock_guard lock(mutex_);
  return mode_;
}

std::optional<Mode> ModeSwitch::wait_unless_hang() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return mode_ != Mode::hang || stopping().load(); });
  if (stopping().load()) return std::nullopt;
  return mode_;
}

void ModeSwitch::wake_all() {
  { std::lock_guard lock(mutex_); }  // orders the stop flag before the wake-up
  changed_.notify_all();
}

}  // namespace demo::http
