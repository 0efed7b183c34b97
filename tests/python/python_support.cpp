#include "python_support.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "child.h"

namespace fs = std::filesystem;

namespace sonde::test {

std::string require_python(const std::string& which) {
  std::string looked;
  if (which == "debian") {
    if (::access("/usr/bin/python3.11", X_OK) == 0) return "/usr/bin/python3.11";
    looked = "/usr/bin/python3.11 (Debian's python3, installed by ./quickstart)";
  } else {
    std::string name = "python" + which;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/root/.pyenv/versions", ec)) {
      std::string dir = e.path().filename().string();
      std::string bin = e.path().string() + "/bin/" + name;
      if (dir.rfind(which + ".", 0) == 0 && ::access(bin.c_str(), X_OK) == 0) return bin;
    }
    // PATH, but not pyenv's shims (shell scripts that pick a version later).
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "");
    for (std::string d; std::getline(dirs, d, ':');) {
      if (d.find("/shims") != std::string::npos) continue;
      std::string bin = d + "/" + name;
      if (::access(bin.c_str(), X_OK) == 0) return bin;
    }
    looked = "/root/.pyenv/versions/" + which + ".*/bin/" + name + " and " + name + " on PATH";
  }
  std::fprintf(stderr, "SKIPPED (needs CPython %s): not found; looked for %s\n", which.c_str(), looked.c_str());
  std::exit(77);
}

std::string python_script(const std::string& name) { return build_path("SONDE_PY_DIR") + "/" + name; }

int marker_line(const std::string& script, const std::string& marker) {
  std::ifstream in(script);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find("# @" + marker) != std::string::npos &&
        (line.size() == line.find("# @" + marker) + 3 + marker.size()))
      return n;
  FAIL("no marker @" << marker << " in " << script);
  return 0;
}

}  // namespace sonde::test
