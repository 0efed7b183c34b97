// What the Python tests share: finding each CPython version on this machine
// (pyenv's /root/.pyenv/versions/3.X.*, else python3.X on PATH; "debian" is
// /usr/bin/python3.11, which quickstart installs), the test scripts, and the
// "# @name" line markers they carry.
#pragma once

#include <string>

namespace sonde::test {

// The interpreter for `which` ("3.11", "3.12", "3.13", "3.10", "debian"), or
// exits 77 with a loud SKIPPED line naming what was looked for.
std::string require_python(const std::string& which);

// tests/python/NAME in the source tree.
std::string python_script(const std::string& name);

// The line of the "# @marker" comment in a script (REQUIREs it exists).
int marker_line(const std::string& script, const std::string& marker);

}  // namespace sonde::test
