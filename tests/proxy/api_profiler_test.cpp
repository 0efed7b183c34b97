// The API profiler through the proxy, on real nodes: the demo node (its
// /demo/work call spends CPU in demo_api_work) and upstream.py. Profiles are
// read back with Python's pstats; request bodies are checked by the sha256
// the node computed. Needs eBPF (the proxy's sampler): suite ebpf.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <ctime>
#include <regex>
#include <set>
#include <thread>

#include "jwt_mint.h"
#include "proxy_support.h"

using namespace sonde::test;

namespace {

struct DemoNode {
  TempDir dir;
  int port = 0;
  Child child;
  DemoNode() {
    port = free_port();
    child = Child::spawn({build_path("SONDE_DEMO_NODE"), "--port", std::to_string(port)}, dir.path + "/out");
    REQUIRE(wait_for_text(dir.path + "/out", "ready"));
  }
};

// The header lines of a curl -D file, names lower-cased.
std::map<std::string, std::string> headers_of(const std::string& path) {
  std::map<std::string, std::string> h;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
    h[name] = value;
  }
  return h;
}

Shell pstats_check(const std::string& file, const std::string& names = "") {
  return shell("python3 '" + here("pstats_check.py") + "' '" + file + "' " + names);
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("SESAM-API-PROFILER: pstats answers the call's profile (Python's pstats loads it), not the node's answer") {
  require_root("eBPF sampling");
  DemoNode node;
  ProxiedAgent pa;
  REQUIRE(pa.start(node.child.pid(), "127.0.0.1:" + std::to_string(node.port)));
  const std::string dir = pa.agent.dir.path;

  auto r = shell("curl -s -D '" + dir + "/h' -o '" + dir + "/call.pstat' -w '%{http_code}' -H 'SESAM-API-PROFILER: pstats' " +
                 pa.url("/demo/work?ms=600"));
  INFO(r.out, read_file(dir + "/h"));
  REQUIRE(r.out == "200");
  auto h = headers_of(dir + "/h");
  std::smatch m;
  std::string disposition = h["content-disposition"];
  CHECK(std::regex_search(disposition, m,
                          std::regex(R"(attachment; filename="\d{8}T\d{6}\.\d{3}Z-GET-demo_work\.pstat")")));
  CHECK(h["x-sonde-call-status"] == "200");
  CHECK(std::stod(h["x-sonde-call-duration-ms"]) >= 600);
  CHECK(read_file(dir + "/call.pstat").find("worked_ms") == std::string::npos);  // the node's answer is not returned
  auto check = pstats_check(dir + "/call.pstat", "demo_api_work");
  INFO(check.out);
  REQUIRE(check.status == 0);
  CHECK(check.out.find("has demo_api_work yes") != std::string::npos);
  CHECK(check.out.find("note <call GET /demo/work?ms=600, status 200, duration_ms ") != std::string::npos);

  // calltree (KCachegrind's format) carries the call in its desc: lines.
  r = shell("curl -s -o '" + dir + "/call.calltree' -w '%{http_code}' -H 'SESAM-API-PROFILER: calltree' " +
            pa.url("/demo/work?ms=300"));
  REQUIRE(r.out == "200");
  std::string tree = read_file(dir + "/call.calltree");
  CHECK(tree.find("desc: status: 200") != std::string::npos);
  CHECK(tree.find("demo_api_work") != std::string::npos);

  // The demo node serves each connection on a thread of its own: the profile keeps that thread's
  // samples only (not the hot-spot thread that burns CPU all along), and says which.
  r = shell("curl -s -D '" + dir + "/hj' -o '" + dir + "/call.json' -w '%{http_code}' -H 'SESAM-API-PROFILER: json' " +
            pa.url("/demo/work?ms=600"));
  REQUIRE(r.out == "200");
  auto hj = headers_of(dir + "/hj");
  INFO(hj["x-sonde-thread"]);
  REQUIRE(hj["x-sonde-thread"] != "all");
  rapidjson::Document doc;
  doc.Parse(read_file(dir + "/call.json").c_str());
  REQUIRE(doc.IsObject());
  REQUIRE(doc["threads"].Size() == 1);
  CHECK(std::to_string(doc["threads"][0]["tid"].GetInt()) == hj["x-sonde-thread"]);
  CHECK(std::string(doc["threads"][0]["name"].GetString()) == "http-conn");
  CHECK(std::string(doc["notes"]["thread"].GetString()).starts_with(hj["x-sonde-thread"] + " (the node's thread"));

  // An unknown format is the agent's 400, and the call is not made.
  r = shell("curl -s -w '\\n%{http_code}' -H 'SESAM-API-PROFILER: gif' " + pa.url("/demo/work?ms=1"));
  CHECK(r.out.substr(r.out.rfind('\n') + 1) == "400");
  CHECK(r.out.find("pstats, calltree") != std::string::npos);
}

TEST_CASE("a Python node (upstream.py on Debian's python3): the call's profile has its Python functions and thread") {
  require_root("eBPF sampling");
  Upstream up("upstream.py");
  REQUIRE(up.ready());
  ProxiedAgent pa;
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port)));
  const std::string dir = pa.agent.dir.path;
  auto r = shell("curl -s -o '" + dir + "/call.pstat' -w '%{http_code}' -H 'SESAM-API-PROFILER: pstats' " +
                 pa.url("/work?ms=600"));
  REQUIRE(r.out == "200");
  auto check = pstats_check(dir + "/call.pstat", "python_api_work handle_any");
  INFO(check.out);
  REQUIRE(check.status == 0);
  CHECK(check.out.find("has python_api_work yes") != std::string::npos);  // a Python function, not _PyEval_*
  CHECK(check.out.find("has handle_any yes") != std::string::npos);           // and its Python caller

  // ThreadingHTTPServer serves the call on a thread of its own: the profile
  // keeps it, named as threading names it ("Thread-N (process_request_thread)").
  r = shell("curl -s -D '" + dir + "/hj' -o '" + dir + "/call.json' -w '%{http_code}' -H 'SESAM-API-PROFILER: json' " +
            pa.url("/work?ms=400"));
  REQUIRE(r.out == "200");
  auto hj = headers_of(dir + "/hj");
  rapidjson::Document doc;
  doc.Parse(read_file(dir + "/call.json").c_str());
  REQUIRE(doc.IsObject());
  std::string json = read_file(dir + "/call.json");
  INFO(json.substr(json.find("\"threads\"")));
  REQUIRE(hj["x-sonde-thread"] != "all");
  REQUIRE(doc["threads"].Size() == 1);
  CHECK(std::string(doc["threads"][0]["name"].GetString()).find("process_request_thread") != std::string::npos);
}

TEST_CASE("the profile header is not forwarded, and every format answers") {
  require_root("eBPF sampling");
  Upstream up("upstream.py");
  REQUIRE(up.ready());
  ProxiedAgent pa;
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port)));
  for (const char* format : {"pstats", "calltree", "collapsed", "speedscope", "pprof", "flamegraph", "json"}) {
    auto r = shell("curl -s -o /dev/null -w '%{http_code}' -H 'SESAM-API-PROFILER: " + std::string(format) + "' " +
                   pa.url(std::string("/api/thing-") + format));
    CHECK_MESSAGE(r.out == "200", format);
  }
  std::string log = read_file(up.dir.path + "/requests.log");
  INFO(log);
  CHECK(log.find("/api/thing-json") != std::string::npos);  // the calls reached the node
  CHECK(log.find("sesam-api-profiler") == std::string::npos);
}

TEST_CASE("--enable-api-profiler: every call profiled into api_profiler/, within its bounds over 1,000 calls") {
  require_root("eBPF sampling");
  DemoNode node;
  ProxiedAgent pa;
  REQUIRE(pa.start(node.child.pid(), "127.0.0.1:" + std::to_string(node.port),
                   {"--enable-api-profiler", "--api-profiler-keep", "10"}));
  const std::string dir = pa.agent.logs + "/api_profiler";
  // 1,000 calls over one keep-alive connection (Python's http.client), as a busy client makes them.
  std::ofstream(pa.agent.dir.path + "/calls.py") << "import http.client, sys\n"
                                                    "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))\n"
                                                    "bad = 0\n"
                                                    "for i in range(1000):\n"
                                                    "    c.request('GET', '/api/health')\n"
                                                    "    bad += c.getresponse().read() != b'{\"status\":\"ok\"}\\n'\n"
                                                    "print('bad', bad)\n";
  auto r = shell("python3 '" + pa.agent.dir.path + "/calls.py' " + std::to_string(pa.proxy_port));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("bad 0") != std::string::npos);
  // The writer catches up: the folder stops changing.
  std::vector<std::string> files, last;
  wait_until([&] {
    files = files_in(dir);
    bool stable = !files.empty() && files == last;
    last = files;
    if (!stable) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return stable;
  }, std::chrono::seconds(30));
  INFO(files.size(), " files");
  CHECK(files.size() <= 10);
  CHECK(files.size() >= 2);
  std::regex name(R"(\d{8}T\d{6}\.\d{3}Z(-\d+)?-GET-api_health(-\d+)?\.(pstat|calltree))");
  for (const auto& f : files) CHECK_MESSAGE(std::regex_match(f, name), f);
  // More calls were written (10 calls: 20 files) than the 10 files kept: retention removed the oldest.
  CHECK(read_file(pa.agent.logs + "/sonde.log").find("api profiler: 10 calls profiled") != std::string::npos);
  auto newest = std::find_if(files.rbegin(), files.rend(), [](const std::string& f) { return f.ends_with(".pstat"); });
  REQUIRE(newest != files.rend());
  auto check = pstats_check(dir + "/" + *newest);
  INFO(check.out);
  CHECK(check.status == 0);
  CHECK(check.out.find("note <call GET /api/health, status 200") != std::string::npos);
}

TEST_CASE("--api-profiler-max-bytes bounds the folder's bytes") {
  require_root("eBPF sampling");
  DemoNode node;
  ProxiedAgent pa;
  REQUIRE(pa.start(node.child.pid(), "127.0.0.1:" + std::to_string(node.port),
                   {"--enable-api-profiler", "--api-profiler-max-bytes", "8192"}));
  const std::string dir = pa.agent.logs + "/api_profiler";
  for (int i = 0; i < 40; ++i) shell("curl -s -o /dev/null " + pa.url("/demo/work?ms=5"));
  // Profiles are written once their samples are unwound, which a sanitized
  // build's first symbolization can delay by seconds: wait for one (bounded).
  // The byte bound holds at every moment, so any later look must see it.
  CHECK(wait_until([&] { return !files_in(dir).empty(); }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  uint64_t bytes = 0;
  auto files = files_in(dir);
  for (const auto& f : files) bytes += std::filesystem::file_size(dir + "/" + f);
  INFO(files.size(), " files, ", bytes, " bytes");
  CHECK(files.size() >= 1);
  CHECK(bytes <= 8192);
}

TEST_CASE("profiler=true in a form: forwarded unchanged, and <id>-<start>.pstat and .calltree written") {
  require_root("eBPF sampling");
  Upstream up("upstream.py");
  REQUIRE(up.ready());
  ProxiedAgent pa;
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port), {"--job-profile-seconds", "1"}));
  const std::string form = "profiler=true&operation=start";
  auto r = shell("curl -s -D '" + pa.agent.dir.path + "/h' --data '" + form + "' " + pa.url("/api/pipes/foo/pump"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  rapidjson::Document d;
  d.Parse(r.out.c_str());
  REQUIRE(d.IsObject());
  CHECK(d["length"].GetInt() == int(form.size()));
  CHECK(std::string(d["sha256"].GetString()) ==
        shell("printf %s '" + form + "' | sha256sum | cut -d' ' -f1").out.substr(0, 64));
  auto h = headers_of(pa.agent.dir.path + "/h");
  INFO(h["x-sonde-job-profile"]);
  CHECK(h["x-sonde-job-profile"].starts_with("started: foo-"));
  // The query form too, for another job.
  shell("curl -s -o /dev/null -X POST '" + pa.url("/api/pipes/bar/pump?profiler=true") + "'");

  std::regex stem_re(R"((foo|bar)-\d{8}T\d{6}Z\.(pstat|calltree))");
  std::vector<std::string> ours;
  wait_until([&] {
    ours.clear();
    for (const auto& f : files_in(pa.agent.logs))
      if (std::regex_match(f, stem_re)) ours.push_back(f);
    return ours.size() == 4;
  }, std::chrono::seconds(15));
  INFO(ours.size());
  REQUIRE(ours.size() == 4);
  for (const auto& f : ours)
    if (f.ends_with(".pstat")) CHECK_MESSAGE(pstats_check(pa.agent.logs + "/" + f).status == 0, f);
  // GET /api/profiles lists them with the background profiles.
  auto list = pa.agent.get("/api/profiles");
  CHECK(list.body.find(ours[0]) != std::string::npos);
  // A path that names no job: forwarded, not profiled, and the header says why.
  r = shell("curl -s -D - -o /dev/null --data 'profiler=true' " + pa.url("/api/elsewhere"));
  CHECK(r.out.find("X-Sonde-Job-Profile: refused") != std::string::npos);
}

TEST_CASE("with --jwt-key, the profiling features need group:Admin; plain calls need no token") {
  require_root("eBPF sampling");
  const std::string secret = "proxy-test-secret-of-32-bytes-long!!";
  Upstream up("upstream.py");
  REQUIRE(up.ready());
  std::string key = up.dir.path + "/jwt.key";
  std::ofstream(key) << secret;
  ProxiedAgent pa;
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port), {"--jwt-key", key}));
  long now = static_cast<long>(std::time(nullptr));
  auto token = [&](const std::string& roles) {
    return mint_hs256(secret, R"({"sub":"ci","exp":)" + std::to_string(now + 3600) + R"(,"roles":)" + roles + "}");
  };
  auto code = [&](const std::string& args) {
    return shell("curl -s -o /dev/null -w '%{http_code}' " + args).out;
  };
  CHECK(code(pa.url("/api/plain")) == "200");
  CHECK(code("-H 'SESAM-API-PROFILER: pstats' " + pa.url("/api/x")) == "401");
  CHECK(code("-H 'SESAM-API-PROFILER: pstats' -H 'Authorization: Bearer " + token(R"(["viewer"])") + "' " +
             pa.url("/api/x")) == "403");
  CHECK(code("-H 'SESAM-API-PROFILER: pstats' -H 'Authorization: Bearer " + token(R"(["group:Admin"])") + "' " +
             pa.url("/api/x")) == "200");
  auto r = shell("curl -s -D - -o /dev/null '" + pa.url("/api/pipes/foo/pump?profiler=true") + "'");
  CHECK(r.out.find("X-Sonde-Job-Profile: refused: profiler=true needs the group:Admin role") != std::string::npos);
}

TEST_CASE("--job-status-url ends a job profile when the job no longer runs") {
  require_root("eBPF sampling");
  Upstream up("upstream.py");
  REQUIRE(up.ready());
  ProxiedAgent pa;
  // upstream.py's answer to the status URL never says "is-running": true, so the job is done at the first poll.
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port),
                   {"--job-profile-seconds", "120", "--job-status-url", up.url("/status/{id}")}));
  auto r = shell("curl -s -o /dev/null -D - --data 'profiler=true' " + pa.url("/api/pipes/quick/pump"));
  INFO(r.out);
  CHECK(r.out.find("X-Sonde-Job-Profile: started: quick-") != std::string::npos);
  std::string tree;
  REQUIRE(wait_until([&] {
    for (const auto& f : files_in(pa.agent.logs))
      if (f.starts_with("quick-") && f.ends_with(".calltree")) tree = read_file(pa.agent.logs + "/" + f);
    return !tree.empty();
  }, std::chrono::seconds(20)));
  CHECK(tree.find("desc: ended: the status URL said the job is done") != std::string::npos);
  CHECK(read_file(up.dir.path + "/requests.log").find("\"path\": \"/status/quick\"") != std::string::npos);
}
