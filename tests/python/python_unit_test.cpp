// The pure parts of python/: the line table decoder against each installed
// interpreter's own co_lines(), and the native/Python merge.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <cstring>
#include <string>

#include "child.h"
#include "python/py_layout.h"
#include "python/py_linetable.h"
#include "python/py_merge.h"
#include "python_support.h"

using namespace sonde;
using namespace sonde::test;

namespace {

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += char(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

// Every 2-byte offset of every code object of three stdlib modules.
void check_linetables(const std::string& python) {
  TempDir tmp;
  Child c = Child::spawn({python, python_script("linetable_dump.py")}, tmp.path + "/out");
  REQUIRE(c.wait(std::chrono::seconds(60)) == 0);
  rapidjson::Document d;
  std::string text = read_file(tmp.path + "/out");
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  CAPTURE(d["version"].GetString());
  size_t checked = 0, mismatched = 0;
  for (const auto& code : d["codes"].GetArray()) {
    std::string table = unhex(code["table"].GetString());
    int first = code["first"].GetInt();
    for (const auto& r : code["ranges"].GetArray()) {
      for (long off = r[0].GetInt64(); off < r[1].GetInt64(); off += 2) {
        int want = r[2].GetInt();
        int got = python::line_for_offset(table, first, off);
        ++checked;
        if (got != want) {
          if (++mismatched < 5) MESSAGE(code["name"].GetString(), " offset ", off, ": ", got, " != ", want);
        }
      }
    }
  }
  CHECK(checked > 10000);
  CHECK(mismatched == 0);
}

symbolize::SymbolFrame native(const std::string& fn, uint64_t addr, bool inlined = false) {
  symbolize::SymbolFrame f;
  f.function = fn;
  f.address = addr;
  f.inlined = inlined;
  return f;
}

symbolize::SymbolFrame py(const std::string& fn) {
  symbolize::SymbolFrame f;
  f.function = fn;
  f.python = true;
  return f;
}

std::string names(const std::vector<symbolize::SymbolFrame>& v) {
  std::string s;
  for (const auto& f : v) s += (s.empty() ? "" : " ") + f.function;
  return s;
}

}  // namespace

TEST_CASE("co_linetable decoding matches co_lines() of Debian's python3.11") { check_linetables("/usr/bin/python3.11"); }

TEST_CASE("co_linetable decoding matches co_lines() of every pyenv 3.11-3.13 present") {
  int found = 0;
  for (const std::string v : {"3.11", "3.12", "3.13"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/root/.pyenv/versions", ec)) {
      std::string bin = e.path().string() + "/bin/python" + v;
      if (e.path().filename().string().rfind(v + ".", 0) == 0 && std::filesystem::exists(bin)) {
        CAPTURE(bin);
        check_linetables(bin);
        ++found;
      }
    }
  }
  if (!found) MESSAGE("no pyenv CPython 3.11-3.13 here: only Debian's python3.11 was compared");
}

TEST_CASE("line_for_offset: before the first instruction, past the end, garbage") {
  // One entry: code 13 (no-column form), 1 code unit, line delta +2.
  std::string t = {char(0x80 | (13 << 3) | 0), char(4)};
  CHECK(python::line_for_offset(t, 10, 0) == 12);
  CHECK(python::line_for_offset(t, 10, -2) == 10);
  CHECK(python::line_for_offset(t, 10, 2) == 0);
  CHECK(python::line_for_offset(std::string("\x01\x02", 2), 10, 0) == 0);
}

TEST_CASE("each interpreter loop frame becomes the Python frames of its call, innermost first") {
  // sleep <- time_sleep <- eval#1 (with an inlined helper) <- vectorcall <- eval#2 <- main
  std::vector<symbolize::SymbolFrame> n{native("clock_nanosleep", 1), native("time_sleep", 2),
                                        native("call_helper", 3, true), native("_PyEval_EvalFrameDefault", 3),
                                        native("_PyObject_Vectorcall", 4), native("_PyEval_EvalFrameDefault", 5),
                                        native("main", 6)};
  std::vector<std::vector<symbolize::SymbolFrame>> g{{py("inner"), py("middle")}, {py("outer"), py("<module>")}};
  CHECK(names(python::merge_frames(n, g, false)) ==
        "clock_nanosleep time_sleep inner middle _PyObject_Vectorcall outer <module> main");
  CHECK(names(python::merge_frames(n, g, true)) == "inner middle outer <module>");
  // The unwind stopped before the outer eval frame: the rest goes where the last one was.
  std::vector<symbolize::SymbolFrame> cut(n.begin(), n.begin() + 5);
  CHECK(names(python::merge_frames(cut, g, false)) ==
        "clock_nanosleep time_sleep inner middle outer <module> _PyObject_Vectorcall");
  // No Python frames read: the native frames stay.
  CHECK(names(python::merge_frames(n, {}, false)) == names(n));
  // The .cold part of the loop counts as the loop.
  CHECK(python::is_eval_frame(native("_PyEval_EvalFrameDefault.cold", 9)));
}

TEST_CASE("_Py_DebugOffsets: a wrong cookie or version is refused") {
  std::string bytes(python::kDebugOffsetsBytes, '\0');
  CHECK_FALSE(python::layout_from_debug_offsets(bytes, 0x030D00F0));
  bytes.replace(0, 8, "xdebugpy");
  uint64_t v = 0x030C00F0;
  std::memcpy(bytes.data() + 8, &v, 8);
  auto r = python::layout_from_debug_offsets(bytes, 0x030D00F0);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("another version") != std::string::npos);
  CHECK(python::table_layout(3, 11) != nullptr);
  CHECK(python::table_layout(3, 12) != nullptr);
  CHECK(python::table_layout(3, 10) == nullptr);
}
