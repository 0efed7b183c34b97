// Python frames in stack dumps, per CPython version (doctest suites 3.11,
// 3.12, 3.13, debian = /usr/bin/python3.11; 3.10 = an unsupported version):
// a real interpreter runs chain.py, `sonde stacks` reads it from outside,
// and the frames, files, lines and GIL holder are checked against the
// script's own line markers.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <map>
#include <set>

#include "agent_process.h"
#include "child.h"
#include "memory/remote_memory.h"
#include "python/py_runtime.h"
#include "python/py_thread_names.h"
#include "python/py_threads.h"
#include "python_support.h"
#include "target/maps.h"

using namespace sonde::test;

namespace {

struct PyFrame {
  bool python = false;
  std::string function, file;
  int line = 0;
};

struct PyThreadView {
  int tid = 0;
  bool python = false, holds_gil = false;
  std::string python_name;      // threading's name
  std::vector<PyFrame> frames;  // innermost first
  std::string describe() const {
    std::string s = "tid " + std::to_string(tid) + " \"" + python_name + "\":";
    for (const auto& f : frames)
      s += "\n  " + std::string(f.python ? "[py] " : "") + f.function + (f.line ? " :" + std::to_string(f.line) : "");
    return s;
  }
  int find(const std::string& fn, int from = 0) const {
    for (int i = from; i < int(frames.size()); ++i)
      if (frames[i].function == fn) return i;
    return -1;
  }
};

std::vector<PyThreadView> parse_threads(const std::string& json, rapidjson::Document& d) {
  d.Parse(json.c_str());
  REQUIRE_MESSAGE(!d.HasParseError(), json.substr(0, 400));
  std::vector<PyThreadView> out;
  for (const auto& t : d["threads"].GetArray()) {
    PyThreadView v;
    v.tid = t["tid"].GetInt();
    v.python = t.HasMember("python") && t["python"].GetBool();
    v.holds_gil = t.HasMember("holds_gil") && t["holds_gil"].GetBool();
    if (t.HasMember("python_name")) v.python_name = t["python_name"].GetString();
    for (const auto& f : t["frames"].GetArray()) {
      PyFrame pf;
      pf.python = f.HasMember("kind") && std::string(f["kind"].GetString()) == "python";
      if (f.HasMember("function")) pf.function = f["function"].GetString();
      if (f.HasMember("file")) pf.file = f["file"].GetString();
      if (f.HasMember("line")) pf.line = f["line"].GetInt();
      v.frames.push_back(pf);
    }
    out.push_back(std::move(v));
  }
  return out;
}

struct PythonNode {
  TempDir dir;
  Child child;
  std::string script = python_script("chain.py");
  PythonNode(const std::string& python, int threads) {
    child = Child::spawn({python, script, std::to_string(threads)}, dir.path + "/out");
    REQUIRE_MESSAGE(wait_for_text(dir.path + "/out", "ready", std::chrono::seconds(20)), read_file(dir.path + "/out"));
  }
};

void check_untouched(pid_t pid) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string status = read_file(e.path().string() + "/status");
    CHECK_MESSAGE(status.find("TracerPid:\t0\n") != std::string::npos, e.path());
  }
}

void check_stacks(const std::string& which) {
  require_ptrace();
  std::string python = require_python(which);
  const int kSleepers = 3;
  PythonNode node(python, kSleepers);
  const int inner = marker_line(node.script, "inner"), middle = marker_line(node.script, "middle"),
            outer = marker_line(node.script, "outer"), spin = marker_line(node.script, "spin"),
            spin_loop = marker_line(node.script, "spin_loop"), main_line = marker_line(node.script, "main");

  std::string out, err;
  rapidjson::Document d;
  std::vector<PyThreadView> threads;
  // "ready" is printed just before the main thread enters Event.wait; with
  // the spinner holding the GIL, it can take a switch interval or more to get
  // there: dump until it has (bounded).
  wait_until([&] {
    REQUIRE_MESSAGE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--format", "json"}, &out, &err) == 0,
                    err);
    threads = parse_threads(out, d);
    for (const auto& t : threads)
      if (t.find("Event.wait") >= 0) return true;
    return false;
  }, std::chrono::seconds(10));
  REQUIRE(d.HasMember("python_version"));
  std::string version = d["python_version"].GetString();
  if (which != "debian") CHECK_MESSAGE(version.rfind(which + ".", 0) == 0, version);

  int sleepers = 0, spinners = 0, gil_holders = 0, mains = 0;
  std::set<std::string> sleeper_names;
  for (const auto& t : threads) {
    INFO(t.describe());
    if (t.holds_gil) ++gil_holders;
    int i = t.find("Worker.inner");
    if (i >= 0) {
      ++sleepers;
      CHECK(t.python);
      sleeper_names.insert(t.python_name);
      CHECK_FALSE(t.holds_gil);  // asleep: it let the GIL go
      // Python frames in call order, with the script's file and lines.
      int m = t.find("Worker.middle", i), o = t.find("outer", i);
      REQUIRE(m == i + 1);
      REQUIRE(o == i + 2);
      CHECK(t.frames[i].python);
      CHECK(t.frames[i].file == node.script);
      CHECK(t.frames[i].line == inner);
      CHECK(t.frames[m].line == middle);
      CHECK(t.frames[o].line == outer);
      // Native frames of the sleep inside (innermost), native thread start outside.
      bool native_sleep = false;
      for (int k = 0; k < i; ++k)
        native_sleep = native_sleep || (!t.frames[k].python && t.frames[k].function.find("sleep") != std::string::npos);
      CHECK_MESSAGE(native_sleep, "no native sleep frame inside Worker.inner");
      bool native_outside = false;
      for (int k = o + 1; k < int(t.frames.size()); ++k)
        native_outside = native_outside || (!t.frames[k].python && t.frames[k].function.find("start_thread") != std::string::npos);
      CHECK(native_outside);
      // Each interpreter loop frame became the Python frames it ran.
      for (const auto& f : t.frames) CHECK(f.function.rfind("_PyEval_EvalFrameDefault", 0) != 0);
      CHECK(t.find("Thread.run") > o);
    }
    int s = t.find("spin");
    if (s >= 0) {
      ++spinners;
      CHECK(t.holds_gil);  // the only thread that wants it
      CHECK(t.python_name == "spinner");  // its instance dict made a real dict (chain.py)
      CHECK_MESSAGE((t.frames[s].line == spin || t.frames[s].line == spin_loop), t.frames[s].line);
    }
    int mn = t.find("main");
    if (mn >= 0 && t.frames[mn].python) {
      ++mains;
      CHECK(t.python_name == "MainThread");
      CHECK(t.frames[mn].line == main_line);
      CHECK(t.find("Event.wait") >= 0);
      CHECK(t.find("<module>") > mn);
    }
  }
  CHECK(sleepers == kSleepers);
  // threading's names, as chain.py gave them (one renamed after its start,
  // one not ASCII).
  CHECK(sleeper_names == std::set<std::string>{"sleeper-0", "sleeper-1-\u00e9t\u00e9", "renamed-2"});
  CHECK(spinners == 1);
  CHECK(mains == 1);
  CHECK(gil_holders == 1);

  // --python-only: Python frames alone, as py-spy dump shows them.
  REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--format", "json", "--python-only"}, &out,
                    &err) == 0);
  rapidjson::Document d2;
  auto only = parse_threads(out, d2);
  CHECK(only.size() == size_t(kSleepers + 2));  // sleepers, spinner, main: threads with a Python thread state
  for (const auto& t : only) {
    INFO(t.describe());
    CHECK(t.python);
    REQUIRE_FALSE(t.frames.empty());
    for (const auto& f : t.frames) CHECK(f.python);
  }
  // The text form: "qualname (file:line)".
  REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--python-only"}, &out, &err) == 0);
  CHECK_MESSAGE(out.find("Worker.inner (" + node.script + ":" + std::to_string(inner) + ")") != std::string::npos, out);
  CHECK(out.find("holds the GIL") != std::string::npos);
  CHECK_MESSAGE(out.find(" python \"spinner\" (") != std::string::npos, out);
  check_untouched(node.child.pid());
}

}  // namespace

TEST_SUITE("3.11") {
  TEST_CASE("CPython 3.11 (pyenv): Python frames between native ones, files, lines, GIL") { check_stacks("3.11"); }
}
TEST_SUITE("3.12") {
  TEST_CASE("CPython 3.12: Python frames between native ones, files, lines, GIL") { check_stacks("3.12"); }
}
TEST_SUITE("3.13") {
  TEST_CASE("CPython 3.13 (_Py_DebugOffsets): Python frames between native ones, files, lines, GIL") {
    check_stacks("3.13");
  }
}
TEST_SUITE("debian") {
  TEST_CASE("Debian's python3.11 (static, no libpython): Python frames, files, lines, GIL") { check_stacks("debian"); }

  // sys.modules holds hundreds of modules: a cold read compares each key's
  // text; a warm one finds the same key objects by address.
  TEST_CASE("thread names: a warm read gives the same names with fewer memory reads") {
    require_ptrace();
    PythonNode node(require_python("debian"), 48);
    auto maps = sonde::target::read_maps(node.child.pid());
    REQUIRE(maps);
    auto rt = sonde::python::locate_python(node.child.pid(), *maps);
    REQUIRE(rt);
    sonde::memory::RemoteMemory mem(node.child.pid());
    auto threads = sonde::python::read_threads(mem, *rt);
    REQUIRE(threads);
    REQUIRE(threads->size() == 50);
    sonde::python::ThreadNameReader reader;
    uint64_t before = mem.calls();
    auto cold = reader.read(mem, *rt, *threads);
    uint64_t cold_reads = mem.calls() - before;
    before = mem.calls();
    auto warm = reader.read(mem, *rt, *threads);
    uint64_t warm_reads = mem.calls() - before;
    MESSAGE("thread names of 50 threads: " << cold_reads << " reads cold, " << warm_reads << " warm");
    CHECK(cold.size() == 50);
    CHECK(warm == cold);
    CHECK(warm_reads < cold_reads);
    // Warm: a few reads per dict on the way to threading._active, then about
    // ten per thread (its type, attribute values, keys, the name).
    CHECK(warm_reads <= 12 * 50 + 30);
  }

  TEST_CASE("the agent's stacktrace route takes python_only and native_only") {
    require_ptrace();
    PythonNode node(require_python("debian"), 2);
    AgentProcess agent;
    REQUIRE(agent.start({"--pid", std::to_string(node.child.pid())}));
    auto r = agent.get("/api/status/stacktrace?format=json&python_only=true");
    REQUIRE(r.status == 200);
    rapidjson::Document d;
    auto threads = parse_threads(r.body, d);
    CHECK(threads.size() == 4);
    for (const auto& t : threads)
      for (const auto& f : t.frames) CHECK(f.python);
    r = agent.get("/api/status/stacktrace?format=json&native_only=true");
    REQUIRE(r.status == 200);
    rapidjson::Document d2;
    bool eval = false;
    for (const auto& t : parse_threads(r.body, d2))
      for (const auto& f : t.frames) {
        CHECK_FALSE(f.python);
        eval = eval || f.function.rfind("_PyEval_EvalFrameDefault", 0) == 0;
      }
    CHECK(eval);
    r = agent.get("/api/status/stacktrace?format=html");
    REQUIRE(r.status == 200);
    CHECK(r.body.find("Worker.inner") != std::string::npos);
    CHECK(r.body.find("holds the GIL") != std::string::npos);
    CHECK(agent.get("/api/status/stacktrace?python_only=true&native_only=true").status == 400);
  }
}
TEST_SUITE("3.10") {
  TEST_CASE("an unsupported CPython (3.10) is refused clearly; its native stacks still work") {
    require_ptrace();
    PythonNode node(require_python("3.10"), 1);
    std::string out, err;
    CHECK(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--python-only"}, &out, &err) != 0);
    CHECK_MESSAGE(err.find("CPython 3.10") != std::string::npos, err);
    CHECK_MESSAGE(err.find("3.11, 3.12 and 3.13") != std::string::npos, err);
    REQUIRE(run_sonde({"stacks", "--pid", std::to_string(node.child.pid()), "--format", "json"}, &out, &err) == 0);
    rapidjson::Document d;
    auto threads = parse_threads(out, d);
    REQUIRE(d.HasMember("python_error"));
    CHECK(std::string(d["python_error"].GetString()).find("CPython 3.10") != std::string::npos);
    bool eval = false;
    for (const auto& t : threads)
      for (const auto& f : t.frames) eval = eval || f.function.find("_PyEval_EvalFrameDefault") != std::string::npos;
    CHECK(eval);
    check_untouched(node.child.pid());
  }
}
