// The profile model (aggregate/profile.h) and its seven formats, each read
// back by the real consumer: Python's pstats, callgrind_annotate, protoc
// --decode_raw over gunzip, RapidJSON against speedscope's schema, headless
// Chromium for the flame graph. The profile is made by hand with a known 3:1
// split (300 samples innermost in heavy, 100 in light) across two threads.
// A missing tool skips its check loudly; the tests still run the rest.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "child.h"
#include "render/profile_renderer.h"

using namespace sonde;
using aggregate::Frame;
using aggregate::Profile;
using aggregate::ProfileBuilder;

namespace {

const std::string kApp = "/opt/node/bin/node";
const std::string kLibc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const std::string kHeavy = "demo::Hot<std::vector<int, std::allocator<int> > >::heavy(unsigned long) const";
const std::string kLight = "demo::Hot<std::vector<int, std::allocator<int> > >::light(unsigned long) const";
const std::string kRun = "(anonymous namespace)::Worker::run()";
const std::string kWorkerName = "worker<1>;x";  // a thread name with a frame separator and markup

Frame frame(const std::string& module, const std::string& function, uint64_t address, const std::string& file = "",
            int line = 0, bool inlined = false) {
  return Frame{module, function, 0, file, line, inlined, address};
}

// node-main (100): 200 x heavy, 50 x light under main; worker (101): 100 x
// heavy, 50 x light under Worker::run. heavy 300 : light 100 = 3 : 1.
Profile split_profile() {
  aggregate::ProfileInfo info;
  info.pid = 100;
  info.exe = kApp;
  info.start_time = 1795860000.0;  // 2026-11-28T10:00:00Z
  info.duration_s = 4.0;
  info.hz = 100;
  info.sampler = "ebpf";
  ProfileBuilder b(info);
  auto heavy = frame(kApp, kHeavy, 0x555500001010, "/src/hot.cpp", 21);
  auto light = frame(kApp, kLight, 0x555500001110, "/src/hot.cpp", 31);
  auto main_f = frame(kApp, "main", 0x555500000100, "/src/main.cpp", 12);
  auto start = frame(kApp, "_start", 0x555500000020);
  auto run = frame(kApp, kRun, 0x555500002000, "/src/worker.cpp", 40);
  auto start_thread = frame(kLibc, "start_thread", 0x7f0000001000, "pthread_create.c", 442);
  for (int i = 0; i < 200; ++i) b.add(100, "node-main", {heavy, main_f, start});
  for (int i = 0; i < 50; ++i) b.add(100, "node-main", {light, main_f, start});
  for (int i = 0; i < 100; ++i) b.add(101, kWorkerName, {heavy, run, start_thread});
  for (int i = 0; i < 50; ++i) b.add(101, kWorkerName, {light, run, start_thread});
  return b.finish();
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Whether `tool` is on PATH; says loudly when it is not, so a skipped check is seen.
bool have_tool(const char* tool) {
  std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) == 0) return true;
  std::fprintf(stderr, "\n*** SKIPPED CHECK: %s not found; install it to test this format ***\n\n", tool);
  MESSAGE("SKIPPED: ", tool, " not installed");
  return false;
}

struct Run {
  int status = -1;
  std::string out, err;
};

// `sh -c cmd` with stdout and stderr captured.
Run shell(const std::string& cmd, const test::TempDir& tmp) {
  std::string out = tmp.path + "/cmd.out", err = tmp.path + "/cmd.err";
  auto child = test::Child::spawn({"/bin/sh", "-c", "exec 2>'" + err + "' >'" + out + "'; " + cmd});
  Run r;
  r.status = child.wait(std::chrono::seconds(90));
  r.out = test::read_file(out);
  r.err = test::read_file(err);
  return r;
}

std::string write(const test::TempDir& tmp, const std::string& name, const std::string& bytes) {
  std::string path = tmp.path + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string rendered(const std::string& format, const Profile& p) {
  auto r = render::profile_renderer(format);
  REQUIRE(r != nullptr);
  return r->render(p);
}

}  // namespace

// ---- the model ----

TEST_CASE("profile: self and total per function, per thread and merged") {
  auto p = split_profile();
  CHECK(p.info.samples == 400);
  REQUIRE(p.threads.size() == 2);
  CHECK(p.threads[0].tid == 100);
  CHECK(p.threads[0].trie.samples() == 250);
  CHECK(p.threads[1].trie.samples() == 150);
  CHECK(p.threads[1].label() == kWorkerName + " (101)");
  CHECK(p.merged.samples() == 400);
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_name;
  for (uint32_t f = 0; f < p.functions.size(); ++f) by_name[p.functions[f].name] = {p.stats[f].self, p.stats[f].total};
  CHECK(by_name[kHeavy] == std::pair<uint64_t, uint64_t>{300, 300});
  CHECK(by_name[kLight] == std::pair<uint64_t, uint64_t>{100, 100});
  CHECK(by_name["main"] == std::pair<uint64_t, uint64_t>{0, 250});
  CHECK(by_name["start_thread"] == std::pair<uint64_t, uint64_t>{0, 150});
  // The merged trie's roots: _start and start_thread.
  CHECK(p.merged.root().children.size() == 2);
}

TEST_CASE("profile: recursion counts once per sample; unknown frames keep their address") {
  ProfileBuilder b;
  auto rec = frame(kApp, "walk(Node*)", 0x1000, "/src/tree.cpp", 50);
  auto rec_deeper = frame(kApp, "walk(Node*)", 0x1010, "/src/tree.cpp", 47);
  auto leaf = frame(kApp, "", 0x2abc);
  for (int i = 0; i < 10; ++i) b.add(7, "t", {leaf, rec, rec_deeper, rec, frame(kApp, "main", 0x10)});
  b.add(7, "renamed", {});
  auto p = b.finish();
  CHECK(p.info.samples == 11);
  CHECK(p.threads[0].name == "renamed");
  uint32_t walk = 0, unknown = 0, none = 0;
  for (uint32_t f = 0; f < p.functions.size(); ++f) {
    if (p.functions[f].name == "walk(Node*)") walk = f;
    if (p.functions[f].name == "0x2abc") unknown = f;
    if (p.functions[f].name == "[unknown]") none = f;
  }
  CHECK(p.stats[walk].total == 10);  // three frames on each stack, counted once
  CHECK(p.stats[walk].self == 0);
  CHECK(p.functions[walk].line == 47);  // the smallest line seen: nearest its definition
  CHECK_FALSE(p.functions[unknown].named);
  CHECK(p.label(unknown) == "0x2abc in node");
  CHECK(p.stats[unknown].self == 10);
  CHECK(p.stats[none].self == 1);  // nothing unwound: still counted somewhere
  for (const auto& e : p.edges) {
    if (e.caller == walk && e.callee == walk) CHECK(e.samples == 10);  // walk -> walk twice per sample: once
    if (e.caller == walk && e.callee == unknown) CHECK(e.self == 10);
  }
  // The trie keeps the recursion: main > walk > walk > walk > 0x2abc.
  size_t deepest = 0;
  p.threads[0].trie.for_each_stack([&](const std::vector<uint32_t>& path, uint64_t) { deepest = std::max(deepest, path.size()); });
  CHECK(deepest == 5);
}

TEST_CASE("factory: the seven formats by name, with their extensions") {
  std::map<std::string, std::string> ext = {{"pstats", ".pstat"},          {"calltree", ".calltree"},
                                            {"collapsed", ".txt"},         {"speedscope", ".speedscope.json"},
                                            {"pprof", ".pb.gz"},           {"flamegraph", ".html"},
                                            {"json", ".json"}};
  CHECK(render::profile_formats().size() == 7);
  for (const auto& f : render::profile_formats()) {
    auto r = render::profile_renderer(f);
    REQUIRE_MESSAGE(r != nullptr, f);
    CHECK(r->file_extension() == ext[f]);
    CHECK(!r->content_type().empty());
    if (f != "collapsed") CHECK(!r->render(Profile{}).empty());  // an empty profile is still a valid file
  }
  CHECK(render::profile_renderer("svg") == nullptr);
}

// ---- each format, read back by its real reader ----

TEST_CASE("pstats: Python's pstats loads it; 75/25, callers filled") {
  if (!have_tool("python3")) return;
  test::TempDir tmp;
  std::string path = write(tmp, "profile.pstat", rendered("pstats", split_profile()));
  write(tmp, "read.py", R"PY(
import json, pstats, sys
s = pstats.Stats(sys.argv[1])
s.sort_stats('cumulative').print_stats()
s.print_callers()
out = {"total_tt": s.total_tt, "functions": {}}
for (file, line, name), (cc, nc, tt, ct, callers) in s.stats.items():
    out["functions"][name] = {"file": file, "line": line, "cc": cc, "nc": nc, "tt": tt, "ct": ct,
                              "callers": {k[2]: list(v) for k, v in callers.items()}}
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
)PY");
  auto r = shell("python3 '" + tmp.path + "/read.py' '" + path + "' '" + tmp.path + "/out.json'", tmp);
  INFO(r.out, r.err);
  REQUIRE(r.status == 0);
  // The header sums ncalls (samples on the stack) over functions: 300 + 100 + 250 + 250 + 150 + 150.
  CHECK(contains(r.out, "1200 function calls in 4.000 seconds"));
  CHECK(contains(r.out, kHeavy));
  rapidjson::Document doc;
  std::string json = test::read_file(tmp.path + "/out.json");
  doc.Parse(json.c_str());
  REQUIRE(!doc.HasParseError());
  const auto& fns = doc["functions"];
  const auto& heavy = fns[kHeavy.c_str()];
  const auto& light = fns[kLight.c_str()];
  double tt_h = heavy["tt"].GetDouble(), tt_l = light["tt"].GetDouble();
  CHECK(tt_h / (tt_h + tt_l) == doctest::Approx(0.75).epsilon(0.01));
  CHECK(tt_h == doctest::Approx(3.0));
  CHECK(heavy["ct"].GetDouble() == doctest::Approx(3.0));
  CHECK(heavy["nc"].GetInt() == 300);
  CHECK(heavy["cc"].GetInt() == 300);
  CHECK(std::string(heavy["file"].GetString()) == "/src/hot.cpp");
  CHECK(heavy["line"].GetInt() == 21);
  REQUIRE(heavy["callers"].HasMember("main"));
  const auto& from_main = heavy["callers"]["main"];
  CHECK(from_main[0].GetInt() == 200);
  CHECK(from_main[2].GetDouble() == doctest::Approx(2.0));
  CHECK(heavy["callers"].HasMember(kRun.c_str()));
  const auto& main_f = fns["main"];
  CHECK(main_f["tt"].GetDouble() == doctest::Approx(0.0));
  CHECK(main_f["ct"].GetDouble() == doctest::Approx(2.5));
  CHECK(fns["start_thread"]["file"].GetString() == std::string("pthread_create.c"));
  CHECK(fns["_start"]["file"].GetString() == kApp);  // no debug info: the module
  CHECK(doc["total_tt"].GetDouble() == doctest::Approx(4.0));
}

TEST_CASE("pstats: one name in two modules without debug info stays two entries") {
  if (!have_tool("python3")) return;
  ProfileBuilder b;
  b.info().hz = 10;
  b.add(1, "t", {frame("/lib/a.so", "init", 0x10)});
  b.add(1, "t", {frame("/lib/b.so", "init", 0x20)});
  b.add(1, "t", {frame("/lib/b.so", "init", 0x20)});
  b.add(1, "t", {frame("", "", 0x30)});
  test::TempDir tmp;
  std::string path = write(tmp, "p.pstat", rendered("pstats", b.finish()));
  auto r = shell("python3 -c 'import pstats,sys; s=pstats.Stats(sys.argv[1]); print(sorted((k[0], k[2], v[2]) for k, v in s.stats.items()))' '" +
                     path + "'",
                 tmp);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out == "[('/lib/a.so', 'init', 0.1), ('/lib/b.so', 'init', 0.2), ('~', '0x30', 0.1)]\n");
}

TEST_CASE("pstats: a profile without samples still loads") {
  if (!have_tool("python3")) return;
  test::TempDir tmp;
  std::string path = write(tmp, "idle.pstat", rendered("pstats", Profile{}));
  auto r = shell("python3 -c 'import pstats,sys; pstats.Stats(sys.argv[1]).print_stats()' '" + path + "'", tmp);
  INFO(r.out, r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "0 function calls in 0.000 seconds"));
}

TEST_CASE("calltree: callgrind_annotate lists self and inclusive counts") {
  if (!have_tool("callgrind_annotate")) return;
  test::TempDir tmp;
  std::string text = rendered("calltree", split_profile());
  std::string path = write(tmp, "profile.calltree", text);
  CHECK(text.rfind("# callgrind format\n", 0) == 0);
  CHECK(contains(text, "\nevents: Samples\n"));

  auto r = shell("callgrind_annotate '" + path + "'", tmp);
  INFO(text, r.out, r.err);
  REQUIRE(r.status == 0);
  CHECK_FALSE(contains(r.err, "malformed"));
  CHECK(std::regex_search(r.out, std::regex("400 \\(100\\.0%\\)\\s+PROGRAM TOTALS")));
  CHECK(std::regex_search(r.out, std::regex("\\n\\s*300 \\(75\\.00?%\\)\\s+/src/hot\\.cpp:demo::Hot<.*>::heavy\\(unsigned long\\) const")));
  CHECK(std::regex_search(r.out, std::regex("\\n\\s*100 \\(25\\.00?%\\)\\s+/src/hot\\.cpp:demo::Hot<.*>::light\\(unsigned long\\) const")));

  r = shell("callgrind_annotate --inclusive=yes '" + path + "'", tmp);
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(std::regex_search(r.out, std::regex("\\n\\s*250 \\(62\\.50?%\\)\\s+/src/main\\.cpp:main")));
  CHECK(std::regex_search(r.out, std::regex("\\n\\s*150 \\(37\\.50?%\\)\\s+/src/worker\\.cpp:\\(anonymous namespace\\)::Worker::run\\(\\)")));
  CHECK(std::regex_search(r.out, std::regex("\\n\\s*300 \\(75\\.00?%\\)\\s+/src/hot\\.cpp:demo::Hot<.*>::heavy")));

  r = shell("callgrind_annotate --tree=caller '" + path + "'", tmp);
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(std::regex_search(r.out, std::regex("200\\s+\\S*\\s*< /src/main\\.cpp:main")));
}

TEST_CASE("collapsed: root first, one line per stack, separators replaced") {
  std::string text = rendered("collapsed", split_profile());
  std::string w = "worker<1>:x (101)";
  CHECK(text == "node-main (100);_start;main;" + kHeavy + " 200\n" +
                    "node-main (100);_start;main;" + kLight + " 50\n" +
                    w + ";start_thread;" + kRun + ";" + kHeavy + " 100\n" +
                    w + ";start_thread;" + kRun + ";" + kLight + " 50\n");
}

TEST_CASE("speedscope: the schema's required fields, one sampled profile per thread") {
  auto p = split_profile();
  std::string text = rendered("speedscope", p);
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), text);
  REQUIRE(doc.IsObject());
  CHECK(std::string(doc["$schema"].GetString()) == "https://www.speedscope.app/file-format-schema.json");
  REQUIRE(doc["shared"].IsObject());
  const auto& frames = doc["shared"]["frames"];
  REQUIRE(frames.IsArray());
  bool found_heavy = false;
  for (const auto& f : frames.GetArray()) {
    REQUIRE(f["name"].IsString());
    if (f.HasMember("file")) CHECK(f["file"].IsString());
    if (f.HasMember("line")) CHECK(f["line"].IsNumber());
    found_heavy |= f["name"].GetString() == kHeavy;
  }
  CHECK(found_heavy);
  REQUIRE(doc["profiles"].IsArray());
  REQUIRE(doc["profiles"].Size() == 2);
  CHECK(doc["activeProfileIndex"].GetUint() == 0);  // the busiest thread
  uint64_t sum = 0;
  for (const auto& prof : doc["profiles"].GetArray()) {
    CHECK(std::string(prof["type"].GetString()) == "sampled");
    CHECK(prof["name"].IsString());
    std::string unit = prof["unit"].GetString();
    CHECK((unit == "none" || unit == "nanoseconds" || unit == "microseconds" || unit == "milliseconds" ||
           unit == "seconds" || unit == "bytes"));
    CHECK(prof["startValue"].IsNumber());
    CHECK(prof["endValue"].IsNumber());
    const auto& samples = prof["samples"];
    const auto& weights = prof["weights"];
    REQUIRE(samples.IsArray());
    REQUIRE(weights.IsArray());
    REQUIRE(samples.Size() == weights.Size());
    uint64_t in_profile = 0;
    for (rapidjson::SizeType i = 0; i < samples.Size(); ++i) {
      for (const auto& idx : samples[i].GetArray()) CHECK(idx.GetUint() < frames.Size());
      in_profile += weights[i].GetUint64();
    }
    CHECK(prof["endValue"].GetUint64() - prof["startValue"].GetUint64() == in_profile);
    sum += in_profile;
  }
  CHECK(sum == 400);
  CHECK(std::string(doc["profiles"][1]["name"].GetString()) == kWorkerName + " (101)");
  // Root first: the worker's first stack starts at start_thread.
  CHECK(std::string(frames[doc["profiles"][1]["samples"][0][0].GetUint()]["name"].GetString()) == "start_thread");
}

TEST_CASE("pprof: gzipped profile.proto that protoc --decode_raw parses") {
  if (!have_tool("protoc") || !have_tool("gunzip")) return;
  test::TempDir tmp;
  std::string bytes = rendered("pprof", split_profile());
  REQUIRE(bytes.size() > 2);
  CHECK(static_cast<unsigned char>(bytes[0]) == 0x1f);  // gzip magic
  CHECK(static_cast<unsigned char>(bytes[1]) == 0x8b);
  std::string path = write(tmp, "profile.pb.gz", bytes);
  auto r = shell("gunzip -c '" + path + "' | protoc --decode_raw", tmp);
  INFO(r.err);
  REQUIRE(r.status == 0);
  INFO(r.out);
  for (const auto& name : {kHeavy, kLight, std::string("main"), std::string("start_thread"), std::string("samples"),
                           std::string("cpu"), std::string("nanoseconds"), kWorkerName})
    CHECK_MESSAGE(contains(r.out, "6: \"" + name + "\""), name);  // string_table entries

  // Top-level "2 {" blocks are samples; their first "2: N" is the sample count.
  std::istringstream lines(r.out);
  std::string line;
  int depth = 0;
  bool in_sample = false, counted = false;
  uint64_t sum = 0, samples = 0, period = 0;
  while (std::getline(lines, line)) {
    auto text = line.substr(line.find_first_not_of(' '));
    if (text.back() == '{') {
      if (depth == 0 && text == "2 {") {
        in_sample = true;
        counted = false;
        ++samples;
      }
      ++depth;
    } else if (text == "}") {
      if (--depth == 0) in_sample = false;
    } else if (depth == 1 && in_sample && !counted && text.rfind("2: ", 0) == 0) {
      sum += std::stoull(text.substr(3));
      counted = true;
    } else if (depth == 0 && text.rfind("12: ", 0) == 0) {
      period = std::stoull(text.substr(4));
    }
  }
  CHECK(samples == 4);  // the distinct stacks of the two threads
  CHECK(sum == 400);
  CHECK(period == 10000000);  // 100 Hz
  CHECK(contains(r.out, "\n10: 4000000000\n"));  // duration_nanos

  // Typed: every field has the wire type of the published profile.proto.
  std::string proto = std::getenv("SONDE_PROFILE_PROTO") ? std::getenv("SONDE_PROFILE_PROTO") : "";
  if (proto.empty()) {
    MESSAGE("SKIPPED: SONDE_PROFILE_PROTO not set (run through meson test)");
    return;
  }
  auto slash = proto.rfind('/');
  r = shell("gunzip -c '" + path + "' | protoc --proto_path='" + proto.substr(0, slash) + "' --decode=perftools.profiles.Profile '" +
                proto.substr(slash + 1) + "'",
            tmp);
  INFO(r.out, r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "\nperiod: 10000000\n"));
  CHECK(contains(r.out, "\nduration_nanos: 4000000000\n"));
  CHECK(contains(r.out, "\ntime_nanos: 1795860000000000000\n"));
  CHECK(contains(r.out, "  has_functions: true\n"));
  CHECK(contains(r.out, "  value: 200\n  value: 2000000000\n"));  // 200 samples of 10 ms
}

TEST_CASE("json: metadata, functions and folded stacks") {
  std::string text = rendered("json", split_profile());
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), text);
  CHECK(doc["pid"].GetInt() == 100);
  CHECK(doc["exe"].GetString() == kApp);
  CHECK(std::string(doc["start_time"].GetString()) == "2026-11-28T10:00:00Z");
  CHECK(doc["duration_s"].GetDouble() == doctest::Approx(4.0));
  CHECK(doc["hz"].GetInt() == 100);
  CHECK(std::string(doc["sampler"].GetString()) == "ebpf");
  CHECK(doc["samples"].GetUint64() == 400);
  CHECK(doc["dropped"].GetUint64() == 0);
  CHECK_FALSE(doc["partial"].GetBool());
  CHECK(std::string(doc["threads_filter"].GetString()) == "all");
  const auto& fns = doc["functions"];
  std::map<std::string, const rapidjson::Value*> by_name;
  for (const auto& f : fns.GetArray()) by_name[f["name"].GetString()] = &f;
  REQUIRE(by_name.count(kHeavy));
  const auto& heavy = *by_name[kHeavy];
  CHECK(heavy["self"].GetUint64() == 300);
  CHECK(heavy["self_percent"].GetDouble() == doctest::Approx(75.0));
  CHECK((*by_name[kLight])["self_percent"].GetDouble() == doctest::Approx(25.0));
  CHECK(std::string(heavy["file"].GetString()) == "/src/hot.cpp");
  CHECK_FALSE((*by_name["_start"]).HasMember("file"));
  uint64_t sum = 0;
  for (const auto& t : doc["threads"].GetArray())
    for (const auto& s : t["stacks"].GetArray()) {
      CHECK(s["frames"].Size() == 3);
      sum += s["samples"].GetUint64();
    }
  CHECK(sum == 400);
  CHECK(std::string(doc["threads"][1]["name"].GetString()) == kWorkerName);
}

TEST_CASE("flamegraph: self-contained and escaped") {
  auto p = split_profile();
  ProfileBuilder b;
  b.add(1, "</script><script>alert(1)</script>", {frame(kApp, "<img src=x onerror=alert(2)>", 1)});
  std::string html = rendered("flamegraph", b.finish());
  CHECK_FALSE(contains(html, "<img"));
  CHECK_FALSE(contains(html, "</script><script>alert"));
  CHECK(contains(html, "\\u003cimg src=x onerror=alert(2)>"));

  html = rendered("flamegraph", p);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_FALSE(contains(html, "http://"));  // nothing fetched
  CHECK_FALSE(contains(html, "https://"));
  CHECK_FALSE(contains(html, "<script src"));
  CHECK_FALSE(contains(html, "<link"));
}

// ---- headless Chromium: the flame graph really draws, searches and escapes ----

namespace {

const char* kChromium = "/usr/bin/chromium";

std::string html_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

std::string dump_dom(const test::TempDir& tmp, const std::string& page, const std::string& fragment) {
  std::string cmd = std::string("exec timeout 60 ") + kChromium +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --window-size=1280,800 --virtual-time-budget=2000 --user-data-dir='" + tmp.path + "/chrome'" +
                    " --dump-dom 'file://" + page + fragment + "'";
  auto r = shell(cmd, tmp);
  INFO("chromium log: ", r.err);
  REQUIRE_MESSAGE(r.status == 0, "chromium exit status ", r.status);
  REQUIRE(!r.out.empty());
  return r.out;
}

}  // namespace

TEST_CASE("flamegraph: chromium draws the frames, search shows the matched share") {
  if (::access(kChromium, X_OK) != 0) {
    std::fprintf(stderr, "\n*** SKIPPED: %s not found; apt-get install chromium to test the flame graph ***\n\n", kChromium);
    std::_Exit(77);
  }
  test::TempDir tmp;
  std::string page = write(tmp, "profile.html", rendered("flamegraph", split_profile()));
  std::string dom = dump_dom(tmp, page, "");
  // Drawn frames are <div class="fr" ...>NAME</div>: the names are in the rendered DOM, not only in the data.
  for (const auto& name : {kHeavy, kLight, std::string("main"), kRun, std::string("start_thread"),
                           "thread " + kWorkerName + " (101)"})
    CHECK_MESSAGE(contains(dom, "\">" + html_escaped(name) + "</div>"), name);
  CHECK_FALSE(contains(dom, "class=\"fr hit\""));

  dom = dump_dom(tmp, page, "#search=HEAVY");
  CHECK(contains(dom, "matched: 75.0% (300 of 400 samples)"));
  CHECK(contains(dom, "class=\"fr hit\""));
  dom = dump_dom(tmp, page, "#search=light(");
  CHECK(contains(dom, "matched: 25.0% (100 of 400 samples)"));
}
