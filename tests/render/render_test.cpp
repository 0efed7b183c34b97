// The three stack formats over hand-made dumps (no ptrace): the JSON contract
// of DESIGN.md §1 parsed back, the eu-stack-like text, and the HTML page, which
// is also loaded in headless Chromium to prove it renders and filters.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "child.h"
#include "render/stack_renderer.h"

using namespace sonde;
using aggregate::Frame;
using aggregate::StackDump;
using aggregate::ThreadStack;

namespace {

const std::string kLibc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const std::string kApp = "/opt/node/bin/node";
const std::string kTemplate = "std::vector<int, std::allocator<int> >::push_back(int const&)";

Frame frame(uint64_t address, const std::string& module, const std::string& function, uint64_t offset = 0,
            const std::string& file = "", int line = 0, bool inlined = false) {
  return Frame{module, function, offset, file, line, inlined, address};
}

ThreadStack thread(pid_t tid, const std::string& name, std::vector<Frame> frames) {
  ThreadStack t;
  t.tid = tid;
  t.name = name;
  t.state = 'S';
  t.state_name = "sleeping";
  t.wait = "futex wait";
  t.cpu_user_s = 1.25;
  t.cpu_system_s = 0.5;
  t.stopped_us = 31;
  t.frames = std::move(frames);
  return t;
}

std::vector<Frame> cond_wait_stack() {
  return {frame(0x7f0000001234, kLibc, "pthread_cond_wait", 60, "pthread_cond_wait.c", 503),
          frame(0x555500002000, kApp, kTemplate, 18, "/src/pool.cpp", 40, true),
          frame(0x555500002000, kApp, "Pool::run()", 112, "/src/pool.cpp", 77),
          frame(0x555500009000, "", "", 0)};
}

// main (epoll), worker-1..3 (same stack), flusher + worker-4 (same stack),
// acceptor: 7 threads in 4 distinct stacks.
StackDump sample_dump() {
  StackDump d;
  d.pid = 100;
  d.exe = kApp;
  d.cmdline = {kApp, "--port", "9042"};
  d.captured_at = "2026-11-28T10:00:00Z";
  d.mode = "per-thread";
  d.wall_ms = 4.5;
  auto main_t = thread(100, "main", {frame(0x7f0000003000, kLibc, "epoll_wait", 30),
                                      frame(0x555500001000, kApp, "main", 200, "/src/main.cpp", 12)});
  main_t.wait = "";
  d.threads.push_back(main_t);
  for (int i = 1; i <= 3; ++i) d.threads.push_back(thread(100 + i, "worker-" + std::to_string(i), cond_wait_stack()));
  auto sleeper = std::vector<Frame>{frame(0x7f0000004000, kLibc, "clock_nanosleep", 80),
                                    frame(0x555500005000, kApp, "Flusher::loop()", 9, "/src/flush.cpp", 5)};
  d.threads.push_back(thread(105, "flusher", sleeper));
  d.threads.push_back(thread(106, "worker-4", sleeper));
  d.threads.push_back(thread(107, "acceptor", {frame(0x7f0000005000, kLibc, "accept4", 20)}));
  return d;
}

rapidjson::Document parse_json(const StackDump& d) {
  auto r = render::make_json_stacks();
  CHECK(r->content_type() == "application/json");
  rapidjson::Document doc;
  std::string text = r->render(d);
  doc.Parse(text.c_str(), text.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), text);
  return doc;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("factory: the three formats by name") {
  for (const auto& f : render::stack_formats()) CHECK(render::stack_renderer(f) != nullptr);
  CHECK(render::stack_renderer("xml") == nullptr);
}

TEST_CASE("json: the document's schema and types") {
  auto doc = parse_json(sample_dump());
  REQUIRE(doc.IsObject());
  CHECK(doc["pid"].IsInt());
  CHECK(doc["pid"].GetInt() == 100);
  CHECK(doc["exe"].GetString() == kApp);
  REQUIRE(doc["cmdline"].IsArray());
  CHECK(doc["cmdline"].Size() == 3);
  CHECK(std::string(doc["cmdline"][2].GetString()) == "9042");
  CHECK(std::string(doc["captured_at"].GetString()) == "2026-11-28T10:00:00Z");
  CHECK(std::string(doc["mode"].GetString()) == "per-thread");
  CHECK(doc["wall_ms"].GetDouble() == doctest::Approx(4.5));
  REQUIRE(doc["threads"].IsArray());
  REQUIRE(doc["threads"].Size() == 7);

  const auto& t = doc["threads"][1];
  CHECK(t["tid"].GetInt() == 101);
  CHECK(std::string(t["name"].GetString()) == "worker-1");
  CHECK(std::string(t["state"].GetString()) == "S");
  CHECK(std::string(t["state_name"].GetString()) == "sleeping");
  CHECK(std::string(t["wait"].GetString()) == "futex wait");
  CHECK(t["cpu_user_s"].GetDouble() == doctest::Approx(1.25));
  CHECK(t["cpu_system_s"].GetDouble() == doctest::Approx(0.5));
  CHECK(t["stopped_us"].IsUint64());
  CHECK(t["stopped_us"].GetUint64() == 31);
  CHECK(t["in_kernel"].IsBool());
  CHECK(t["complete"].IsBool());
  CHECK(t["complete"].GetBool());
  CHECK_FALSE(t.HasMember("error"));
  CHECK_FALSE(t.HasMember("kernel_stack"));
  REQUIRE(t["frames"].Size() == 4);

  const auto& f = t["frames"][0];
  CHECK(std::string(f["address"].GetString()) == "0x7f0000001234");
  CHECK(f["module"].GetString() == kLibc);
  CHECK(std::string(f["function"].GetString()) == "pthread_cond_wait");
  CHECK(f["offset"].IsUint64());
  CHECK(f["offset"].GetUint64() == 60);
  CHECK(std::string(f["file"].GetString()) == "pthread_cond_wait.c");
  CHECK(f["line"].IsInt());
  CHECK(f["line"].GetInt() == 503);
  CHECK(f["inlined"].IsBool());
  CHECK_FALSE(f["inlined"].GetBool());
  CHECK(t["frames"][1]["inlined"].GetBool());
}

TEST_CASE("json: unknown facts are absent, not invented") {
  auto d = sample_dump();
  d.threads[0].frames.push_back(frame(0x401000, kApp, "known_without_lines", 7));
  d.threads[0].state = '?';
  d.threads[0].state_name = "";
  auto broken = thread(200, "", {});
  broken.error = "thread exited during capture";
  broken.complete = false;
  broken.kernel_stack = {"futex_wait_queue+0x60/0xa0", "do_futex+0x10/0x1a0"};
  d.threads.push_back(broken);
  d.exe = "";
  auto doc = parse_json(d);

  CHECK_FALSE(doc.HasMember("exe"));
  const auto& main_t = doc["threads"][0];
  CHECK_FALSE(main_t.HasMember("wait"));    // wait ""
  CHECK_FALSE(main_t.HasMember("state"));   // '?'
  CHECK_FALSE(main_t.HasMember("state_name"));
  const auto& epoll = main_t["frames"][0];  // function known, no debug info
  CHECK(epoll.HasMember("offset"));
  CHECK_FALSE(epoll.HasMember("file"));
  CHECK_FALSE(epoll.HasMember("line"));
  const auto& unknown = doc["threads"][1]["frames"][3];  // nothing known but the pc
  CHECK(std::string(unknown["address"].GetString()) == "0x555500009000");
  CHECK_FALSE(unknown.HasMember("function"));
  CHECK_FALSE(unknown.HasMember("offset"));
  CHECK_FALSE(unknown.HasMember("module"));
  CHECK_FALSE(unknown.HasMember("file"));
  CHECK_FALSE(unknown.HasMember("line"));
  CHECK(unknown.HasMember("inlined"));

  const auto& b = doc["threads"][7];
  CHECK_FALSE(b.HasMember("name"));
  CHECK(std::string(b["error"].GetString()) == "thread exited during capture");
  CHECK_FALSE(b["complete"].GetBool());
  CHECK(b["frames"].IsArray());
  CHECK(b["frames"].Size() == 0);
  REQUIRE(b["kernel_stack"].IsArray());
  CHECK(std::string(b["kernel_stack"][1].GetString()) == "do_futex+0x10/0x1a0");
}

TEST_CASE("json: names with markup, quotes and bad bytes round-trip as valid JSON") {
  auto d = sample_dump();
  const std::string odd = "say \"hi\" \\ <tab>\t";
  d.threads[0].frames[0].function = odd;
  d.threads[0].name = "bad\xff\xfe";
  auto doc = parse_json(d);
  CHECK(doc["threads"][1]["frames"][1]["function"].GetString() == kTemplate);
  CHECK(doc["threads"][0]["frames"][0]["function"].GetString() == odd);
  CHECK(std::string(doc["threads"][0]["name"].GetString()) == "bad\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("text: eu-stack shape, every thread, sorted by tid") {
  auto d = sample_dump();
  std::swap(d.threads[0], d.threads[6]);  // renderer must sort, not trust the order
  auto r = render::make_text_stacks();
  CHECK(r->content_type() == "text/plain; charset=utf-8");
  std::string text = r->render(d);
  INFO(text);
  CHECK(text.rfind("PID 100 - process\n", 0) == 0);
  CHECK(contains(text, "\nTID 101 \"worker-1\" (sleeping, futex wait, stopped 31 us):\n"
                       "#0  0x00007f0000001234  pthread_cond_wait+60 (libc.so.6) at pthread_cond_wait.c:503\n"));
  CHECK(contains(text, "\n#1  0x0000555500002000  " + kTemplate + " [inlined] (node) at /src/pool.cpp:40\n"));
  CHECK(contains(text, "\n#3  0x0000555500009000  ??\n"));
  CHECK(contains(text, "\nTID 100 \"main\" (sleeping, stopped 31 us):\n"));
  CHECK(contains(text, "#0  0x00007f0000003000  epoll_wait+30 (libc.so.6)\n"));
  CHECK(count_of(text, "\nTID ") == 7);            // identical stacks are not grouped
  CHECK(count_of(text, "pthread_cond_wait+60") == 3);
  CHECK(text.find("TID 100 ") < text.find("TID 101 "));
  CHECK(text.find("TID 106 ") < text.find("TID 107 "));
}

TEST_CASE("text: a thread that could not be captured says why") {
  auto d = sample_dump();
  auto broken = thread(300, "gone", {});
  broken.error = "no such process";
  d.threads.push_back(broken);
  std::string text = render::make_text_stacks()->render(d);
  CHECK(contains(text, "TID 300 \"gone\" (sleeping, futex wait):\n    error: no such process\n"));
}

TEST_CASE("html: everything from the node is escaped") {
  auto d = sample_dump();
  d.threads[0].frames[0].function = "<script>alert(1)</script>";
  d.threads[6].name = "<img src=x onerror=alert(2)>";
  auto r = render::make_html_stacks();
  CHECK(r->content_type() == "text/html; charset=utf-8");
  std::string html = r->render(d);
  CHECK_FALSE(contains(html, "<script>alert"));
  CHECK_FALSE(contains(html, "<img"));
  CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK(contains(html, "&lt;img src=x onerror=alert(2)&gt;"));
  CHECK(contains(html, "std::vector&lt;int, std::allocator&lt;int&gt; &gt;::push_back(int const&amp;)"));
  CHECK(count_of(html, "<script>") == 1);  // only the page's own
}

TEST_CASE("html: identical stacks are one group with their threads") {
  std::string html = render::make_html_stacks()->render(sample_dump());
  CHECK(count_of(html, "<section class=\"group\"") == 4);
  // Biggest group first: the three workers parked in pthread_cond_wait.
  auto first = html.find("<section class=\"group\"");
  auto second = html.find("<section class=\"group\"", first + 1);
  std::string g1 = html.substr(first, second - first);
  CHECK(contains(g1, "<span class=\"n\">3 threads</span>"));
  for (auto name : {"worker-1", "worker-2", "worker-3"}) CHECK(contains(g1, name));
  CHECK(count_of(g1, "pthread_cond_wait<span") == 1);  // the frames once, not per thread
  CHECK(contains(g1, "futex wait"));
  CHECK(contains(g1, "<span class=\"tag\">inlined</span>"));
  CHECK(contains(g1, "title=\"" + kLibc + "\">libc.so.6<"));
  CHECK(contains(html, "<input id=\"filter\""));
  CHECK(contains(html, "7 of 7 threads shown"));
  CHECK(contains(html, "2026-11-28T10:00:00Z"));
  CHECK(contains(html, "per-thread"));
  CHECK_FALSE(contains(html, "http://"));  // self-contained: nothing fetched
  CHECK_FALSE(contains(html, "https://"));
}

TEST_CASE("html: 256 threads of 20 frames stay a small page") {
  StackDump d = sample_dump();
  d.threads.clear();
  for (int i = 0; i < 256; ++i) {
    std::vector<Frame> frames;
    for (int k = 0; k < 20; ++k)
      frames.push_back(frame(0x555500000000 + k * 64, kApp, "ns::Worker<Job>::step_" + std::to_string(k) + "()", k,
                             "/src/worker.cpp", 10 + k));
    frames[0].function = "wait_kind_" + std::to_string(i % 8);  // 8 distinct stacks
    d.threads.push_back(thread(1000 + i, "pool-" + std::to_string(i), frames));
  }
  std::string html = render::make_html_stacks()->render(d);
  MESSAGE("256 threads, 8 stacks: ", html.size(), " bytes");
  CHECK(count_of(html, "<section class=\"group\"") == 8);
  CHECK(html.size() < 150 * 1024);
  CHECK(contains(html, "<details class=\"tl\"><summary>32 threads: pool-0, pool-8, …</summary>"));

  for (int i = 0; i < 256; ++i) d.threads[i].frames[1].function = "distinct_" + std::to_string(i);
  std::string worst = render::make_html_stacks()->render(d);
  MESSAGE("256 threads, all distinct: ", worst.size(), " bytes");
  CHECK(worst.size() < 2 * 1024 * 1024);
}

// ---- headless Chromium: the page really renders and its filter works ----

namespace {

const char* kChromium = "/usr/bin/chromium";

void require_chromium() {
  if (::access(kChromium, X_OK) != 0) {
    std::fprintf(stderr, "\n*** SKIPPED: %s not found; apt-get install chromium to test the HTML page ***\n\n",
                 kChromium);
    std::fflush(stderr);
    std::_Exit(77);
  }
}

// Loads `page` (+ `fragment`) and answers the DOM after its scripts ran.
std::string dump_dom(const std::string& page, const std::string& fragment) {
  test::TempDir tmp;
  std::string out = tmp.path + "/dom.html", err = tmp.path + "/chromium.log";
  std::string cmd = std::string("exec timeout 60 ") + kChromium +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --virtual-time-budget=2000 --user-data-dir='" + tmp.path + "/profile'" +
                    " --dump-dom 'file://" + page + fragment + "' >'" + out + "' 2>'" + err + "'";
  auto child = test::Child::spawn({"/bin/sh", "-c", cmd});
  int status = child.wait(std::chrono::seconds(90));
  std::string dom = test::read_file(out);
  INFO("chromium log: ", test::read_file(err));
  REQUIRE_MESSAGE(status == 0, "chromium exit status ", status);
  REQUIRE(!dom.empty());
  return dom;
}

size_t hidden_groups(const std::string& dom) {
  static const std::regex hidden("<section class=\"group\" id=\"g[0-9]+\" hidden=\"\">");
  return std::distance(std::sregex_iterator(dom.begin(), dom.end(), hidden), std::sregex_iterator());
}

}  // namespace

TEST_CASE("html: chromium renders the page") {
  require_chromium();
  test::TempDir tmp;
  std::string page = tmp.path + "/stacktrace.html";
  std::ofstream(page) << render::make_html_stacks()->render(sample_dump());
  std::string dom = dump_dom(page, "");
  for (auto name : {"pthread_cond_wait", "epoll_wait", "clock_nanosleep", "accept4", "Flusher::loop()"})
    CHECK_MESSAGE(contains(dom, name), name);
  for (auto name : {"worker-1", "worker-3", "worker-4", "flusher", "acceptor", "main"})
    CHECK_MESSAGE(contains(dom, name), name);
  CHECK(contains(dom, "std::vector&lt;int, std::allocator&lt;int&gt; &gt;::push_back"));
  CHECK(contains(dom, "7 of 7 threads shown"));
  CHECK(hidden_groups(dom) == 0);
}

TEST_CASE("html: chromium applies #filter= from the URL") {
  require_chromium();
  test::TempDir tmp;
  std::string page = tmp.path + "/stacktrace.html";
  std::ofstream(page) << render::make_html_stacks()->render(sample_dump());

  // By thread name: worker-1..3 and worker-4, whose group-mate flusher hides.
  std::string dom = dump_dom(page, "#filter=WORKER");
  CHECK(contains(dom, "4 of 7 threads shown"));
  CHECK(contains(dom, "<span class=\"n\">1 of 2 threads</span>"));
  CHECK(count_of(dom, "<section class=\"group\"") == 4);
  CHECK(hidden_groups(dom) == 2);  // main's and acceptor's

  // By function name: the whole group, whatever its threads are called.
  dom = dump_dom(page, "#filter=nanosleep");
  CHECK(contains(dom, "2 of 7 threads shown"));

  CHECK(hidden_groups(dom) == 3);

  // By module path, which is only in the tooltip (the cell shows "node"):
  // every thread but the acceptor has a frame in /opt/node/bin/node.
  dom = dump_dom(page, "#filter=opt/node/");
  CHECK(contains(dom, "6 of 7 threads shown"));
  CHECK(hidden_groups(dom) == 1);
}

TEST_CASE("html: chromium opens a collapsed thread list when some of its threads match") {
  require_chromium();
  auto d = sample_dump();
  for (int i = 0; i < 15; ++i) d.threads.push_back(thread(400 + i, "pool-" + std::to_string(i), cond_wait_stack()));
  d.threads.push_back(thread(500, "special", cond_wait_stack()));
  test::TempDir tmp;
  std::string page = tmp.path + "/stacktrace.html";
  std::ofstream(page) << render::make_html_stacks()->render(d);
  std::string dom = dump_dom(page, "#filter=special");
  CHECK(contains(dom, "1 of 23 threads shown"));
  CHECK(contains(dom, "<span class=\"n\">1 of 19 threads</span>"));
  CHECK(contains(dom, "<details class=\"tl\" open=\"\">"));
}
