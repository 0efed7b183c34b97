// format=json: the stacks document of DESIGN.md §1. A fact that is unknown is
// left out rather than written as "" or 0, so a consumer can tell "no debug
// info" from "line 0" without knowing our conventions.
#include <cinttypes>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "render/json_writer.h"
#include "render/stack_renderer.h"

namespace sonde::render {
namespace {

// A hex string, because JSON numbers lose 64-bit addresses in most readers
// (JavaScript's doubles stop at 2^53).
void write_address(JsonWriter& w, uint64_t address) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, address);
  json_key_string(w, "address", buf);
}

// A Python frame: its function is the code's qualified name, file and line
// the source's; it has no native address, offset or module.
void write_python_frame(JsonWriter& w, const aggregate::Frame& f) {
  w.StartObject();
  json_key_string(w, "kind", "python");
  json_key_string(w, "function", f.function);
  json_key_string_if(w, "file", f.file);
  if (f.line > 0) {
    w.Key("line");
    w.Int(f.line);
  }
  if (f.def_line > 0) {
    w.Key("first_line");
    w.Int(f.def_line);
  }
  w.Key("inlined");
  w.Bool(false);
  w.EndObject();
}

void write_frame(JsonWriter& w, const aggregate::Frame& f) {
  if (f.python) return write_python_frame(w, f);
  w.StartObject();
  write_address(w, f.address);
  json_key_string_if(w, "module", f.module);
  if (!f.function.empty()) {
    json_key_string(w, "function", f.function);
    // Without a symbol the offset is meaningless, so it goes with the name.
    w.Key("offset");
    w.Uint64(f.offset);
  }
  if (f.line > 0) {
    json_key_string_if(w, "file", f.file);
    w.Key("line");
    w.Int(f.line);
  }
  w.Key("inlined");
  w.Bool(f.inlined);
  w.EndObject();
}

void write_thread(JsonWriter& w, const aggregate::ThreadStack& t) {
  w.StartObject();
  w.Key("tid");
  w.Int(t.tid);
  json_key_string_if(w, "name", t.name);
  // '?' (or NUL) is the model's "state not read".
  if (t.state != '?' && t.state != '\0') json_key_string(w, "state", std::string(1, t.state));
  json_key_string_if(w, "state_name", t.state_name);
  json_key_string_if(w, "wait", t.wait);
  w.Key("cpu_user_s");
  w.Double(t.cpu_user_s);
  w.Key("cpu_system_s");
  w.Double(t.cpu_system_s);
  w.Key("stopped_us");
  w.Uint64(t.stopped_us);
  w.Key("in_kernel");
  w.Bool(t.in_kernel);
  w.Key("complete");
  w.Bool(t.complete);
  json_key_string_if(w, "error", t.error);
  if (t.python) {
    w.Key("python");
    w.Bool(true);
    w.Key("holds_gil");
    w.Bool(t.holds_gil);
    json_key_string_if(w, "python_name", t.python_name);
  }
  w.Key("frames");
  w.StartArray();
  for (const auto& f : t.frames) write_frame(w, f);
  w.EndArray();
  if (!t.kernel_stack.empty()) {
    w.Key("kernel_stack");
    w.StartArray();
    for (const auto& k : t.kernel_stack) json_string(w, k);
    w.EndArray();
  }
  w.EndObject();
}

class JsonStacks final : public StackRenderer {
 public:
  std::string content_type() const override { return "application/json"; }

  std::string render(const aggregate::StackDump& dump) const override {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    // Microsecond resolution is all a capture time or a cpu time can carry.
    w.SetMaxDecimalPlaces(6);
    w.StartObject();
    w.Key("pid");
    w.Int(dump.pid);
    json_key_string_if(w, "exe", dump.exe);
    w.Key("cmdline");
    w.StartArray();
    for (const auto& a : dump.cmdline) json_string(w, a);
    w.EndArray();
    json_key_string_if(w, "captured_at", dump.captured_at);
    json_key_string_if(w, "mode", dump.mode);
    w.Key("wall_ms");
    w.Double(dump.wall_ms);
    json_key_string_if(w, "python_version", dump.python_version);
    json_key_string_if(w, "python_error", dump.python_error);
    w.Key("threads");
    w.StartArray();
    for (const auto& t : dump.threads) write_thread(w, t);
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }
};

}  // namespace

std::unique_ptr<StackRenderer> make_json_stacks() { return std::make_unique<JsonStacks>(); }

}  // namespace sonde::render
