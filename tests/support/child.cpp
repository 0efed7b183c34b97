#include "child.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sonde::test {

namespace {

// Every child not yet reaped, so that a test process that dies (an abort, a
// failed assert in a library, meson's SIGTERM on timeout) still ends the
// nodes it started. A fixed table: a signal handler may not allocate.
constexpr int kMaxLive = 256;
std::atomic<pid_t> g_live[kMaxLive];
struct sigaction g_previous[NSIG];

void remember(pid_t pid) {
  for (auto& slot : g_live) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void forget(pid_t pid) {
  for (auto& slot : g_live) {
    pid_t p = pid;
    if (slot.compare_exchange_strong(p, 0)) return;
  }
}

void end_children_and_die(int sig) {
  for (auto& slot : g_live)
    if (pid_t p = slot.load(); p > 0) ::kill(p, SIGKILL);
  ::sigaction(sig, &g_previous[sig], nullptr);
  ::raise(sig);
}

// Installed before main, so doctest's crash handler (installed when the
// tests run) reports first and then hands the signal back to this one.
// SIGSEGV is left to doctest and the sanitizers; a sanitizer report ends in
// abort (abort_on_error=1), which is handled.
const bool g_installed = [] {
  struct sigaction sa {};
  sa.sa_handler = end_children_and_die;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGABRT, SIGTERM, SIGINT}) ::sigaction(sig, &sa, &g_previous[sig]);
  return true;
}();

}  // namespace

Child Child::spawn(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::vector<std::string>& extra_env) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!log_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t deflt;
  sigfillset(&deflt);
  posix_spawnattr_setsigdefault(&attr, &deflt);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  Child c;
  int rc = posix_spawn(&c.pid_, args[0], &fa, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  remember(c.pid_);
  return c;
}

Child::Child(Child&& o) noexcept : pid_(o.pid_), status_(o.status_), reaped_(o.reaped_) { o.pid_ = -1; }

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    kill_now();
    pid_ = o.pid_;
    status_ = o.status_;
    reaped_ = o.reaped_;
    o.pid_ = -1;
  }
  return *this;
}

Child::~Child() { kill_now(); }

bool Child::running() {
  if (pid_ <= 0 || reaped_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    forget(pid_);
    reaped_ = true;
    status_ = st;
    return false;
  }
  return true;
}

int Child::wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  if (!wait_until([&] { return !running(); }, limit)) return -1;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

int Child::stop(int sig, std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  if (running()) ::kill(pid_, sig);
  return wait(limit);
}

void Child::kill_now() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
    forget(pid_);
    reaped_ = true;
  }
  pid_ = -1;
}

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ready();
}

std::string build_path(const std::string& env_name) {
  const char* v = std::getenv(env_name.c_str());
  if (!v) throw std::runtime_error("environment variable " + env_name + " not set (run through meson test)");
  return v;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/sonde-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

void require_ptrace() {
  // Try the real thing on a child of ours: seize it and let it go.
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  bool ok = ::ptrace(PTRACE_SEIZE, child, nullptr, nullptr) == 0;
  int err = errno;
  if (ok) ::ptrace(PTRACE_DETACH, child, nullptr, nullptr);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (!ok) {
    std::fprintf(stderr, "SKIPPED (needs ptrace): PTRACE_SEIZE refused: %s\n", std::strerror(err));
    std::exit(77);
  }
}

void require_root(const char* why) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "SKIPPED (needs root): %s\n", why);
    std::exit(77);
  }
}

std::string read_file(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

bool wait_for_text(const std::string& path, const std::string& text, std::chrono::milliseconds limit) {
  return wait_until([&] { return read_file(path).find(text) != std::string::npos; }, limit);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

Shell shell(const std::string& cmd) {
  Shell r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace sonde::test
