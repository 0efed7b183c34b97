// Processes a test starts: each is ended by its pid when the Child goes out of
// scope (SIGKILL, then reaped), so no test leaves a process behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace sonde::test {

class Child {
 public:
  Child() = default;
  // Starts argv[0] (a path) with argv; stdout/stderr go to `log_path` when given.
  static Child spawn(const std::vector<std::string>& argv, const std::string& log_path = "",
                     const std::vector<std::string>& extra_env = {});
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  bool running();
  // Sends sig; returns the exit status after waiting at most `limit` (-1 if it did not exit).
  int stop(int sig, std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Waits for exit without sending anything; -1 on timeout.
  int wait(std::chrono::milliseconds limit);
  void kill_now();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
};

// Polls `ready` every 10 ms until it is true or `limit` passes.
bool wait_until(const std::function<bool()>& ready,
                std::chrono::milliseconds limit = std::chrono::seconds(10));

// Build-tree paths handed in by meson through the environment.
std::string build_path(const std::string& env_name);
// A fresh temporary folder, removed by the caller's TempDir.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

// Tests that need ptrace/eBPF call these first: they exit 77 (meson's skip)
// with a loud line when the machine cannot, so .ci/run can tell.
void require_ptrace();
void require_root(const char* why);

// A file's whole text ("" if it cannot be read).
std::string read_file(const std::string& path);

// A shell command's exit status (-1 when it did not exit) and its output, stderr included.
struct Shell {
  int status = -1;
  std::string out;
};
Shell shell(const std::string& cmd);
// Waits until the file at `path` contains `text` (e.g. a target's "ready" line).
bool wait_for_text(const std::string& path, const std::string& text,
                   std::chrono::milliseconds limit = std::chrono::seconds(10));

// A free TCP port on 127.0.0.1.
int free_port();

}  // namespace sonde::test
