// The plain proxy (--proxy LISTEN=UPSTREAM) against real upstreams:
// python3 -m http.server for files, upstream.py for request bodies and
// chunked answers. Bytes are compared with what the upstream has or saw
// (cmp, sha256); curl is the client, as an operator's would be.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "proxy_support.h"

using namespace sonde::test;

namespace {

rapidjson::Document json_of(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  return d;
}

}  // namespace

TEST_CASE("GET answers of 0 B and 1 MiB from python3 -m http.server pass through byte-exact") {
  Upstream up("http.server");
  std::string empty = up.make_file("empty.bin", 0);
  std::string big = up.make_file("big.bin", 1 << 20);
  REQUIRE(up.ready());
  ProxiedAgent pa;
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port)));
  for (const auto& [name, path] : {std::pair{"empty.bin", empty}, std::pair{"big.bin", big}}) {
    std::string out = pa.agent.dir.path + "/" + name;
    auto r = shell("curl -s -f -o '" + out + "' -w '%{http_code} %{size_download}' " + pa.url(std::string("/files/") + name));
    INFO(name, ": ", r.out);
    REQUIRE(r.status == 0);
    CHECK(shell("cmp '" + path + "' '" + out + "'").status == 0);
    CHECK(sha256_of(out) == sha256_of(path));
  }
  // HEAD: the header only, the length of the file.
  auto head = shell("curl -s -I " + pa.url("/files/big.bin"));
  CHECK(head.out.find("Content-Length: 1048576") != std::string::npos);
  // A 404 of the node is the node's, not the agent's.
  auto missing = shell("curl -s -o /dev/null -w '%{http_code}' " + pa.url("/files/nothing-here"));
  CHECK(missing.out == "404");
}

TEST_CASE("request bodies of 0 B, 1 MiB and chunked reach the node unchanged; chunked answers come back byte-exact") {
  Upstream up("upstream.py");
  std::string big = up.make_file("big.bin", 1 << 20);
  REQUIRE(up.ready());
  ProxiedAgent pa;
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port)));
  const std::string big_sha = sha256_of(big);

  auto post = [&](const std::string& curl_args) {
    auto r = shell("curl -s -f " + curl_args + " " + pa.url("/echo"));
    INFO(curl_args, " -> ", r.out);
    REQUIRE(r.status == 0);
    auto d = json_of(r.out);
    REQUIRE(d.IsObject());
    return std::make_pair(d["length"].GetInt64(), std::string(d["sha256"].GetString()));
  };
  auto [len0, sha0] = post("-X POST -H 'Content-Length: 0'");
  CHECK(len0 == 0);
  CHECK(sha0 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // sha256 of nothing
  auto [len1, sha1] = post("--data-binary @'" + big + "' -H 'Content-Type: application/octet-stream'");
  CHECK(len1 == 1 << 20);
  CHECK(sha1 == big_sha);
  auto [len2, sha2] = post("--data-binary @'" + big + "' -H 'Transfer-Encoding: chunked'");
  CHECK(len2 == 1 << 20);
  CHECK(sha2 == big_sha);

  // A chunked answer: the same payload through the proxy as straight from the node, still chunked.
  std::string via = pa.agent.dir.path + "/via.bin", direct = pa.agent.dir.path + "/direct.bin";
  auto r = shell("curl -s -f -D '" + pa.agent.dir.path + "/via.h' -o '" + via + "' " + pa.url("/chunked?n=300007"));
  REQUIRE(r.status == 0);
  REQUIRE(shell("curl -s -f -o '" + direct + "' " + up.url("/chunked?n=300007")).status == 0);
  CHECK(std::filesystem::file_size(via) == 300007);
  CHECK(shell("cmp '" + via + "' '" + direct + "'").status == 0);
  CHECK(read_file(pa.agent.dir.path + "/via.h").find("Transfer-Encoding: chunked") != std::string::npos);
}

TEST_CASE("keep-alive: one client connection carries several calls") {
  Upstream up("upstream.py");
  REQUIRE(up.ready());
  ProxiedAgent pa;
  REQUIRE(pa.start(up.child.pid(), "127.0.0.1:" + std::to_string(up.port)));
  // curl reuses its connection for the URLs of one command: num_connects is 0 after the first.
  auto r = shell("curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects} ' " + pa.url("/a") + " " +
                 pa.url("/b") + " " + pa.url("/c"));
  INFO(r.out);
  CHECK(r.out == "1 0 0 ");
}

TEST_CASE("the node down: 502 with a JSON error that names the upstream") {
  // A free port with nothing on it, and a unix socket path that does not exist.
  Upstream up("upstream.py");  // only a live pid for the agent to follow
  REQUIRE(up.ready());
  int dead = free_port();
  for (const std::string& upstream :
       {"127.0.0.1:" + std::to_string(dead), up.dir.path + "/no-such.sock"}) {
    ProxiedAgent pa;
    REQUIRE(pa.start(up.child.pid(), upstream));
    auto r = shell("curl -s -w '\\n%{http_code}' " + pa.url("/api/anything"));
    INFO(upstream, ": ", r.out);
    auto nl = r.out.rfind('\n');
    REQUIRE(nl != std::string::npos);
    CHECK(r.out.substr(nl + 1) == "502");
    auto d = json_of(r.out.substr(0, nl));
    REQUIRE(d.IsObject());
    CHECK(std::string(d["error"]["code"].GetString()) == "bad_gateway");
    CHECK(std::string(d["error"]["message"].GetString()).find(upstream) != std::string::npos);
  }
}

TEST_CASE("--proxy with a bad LISTEN=UPSTREAM is refused at start with exit 2") {
  std::string out, err;
  int code = run_sonde({"agent", "--pid", std::to_string(::getpid()), "--http", "off", "--socket",
                        TempDir().path + "/s.sock", "--proxy", "127.0.0.1:9044"},
                       &out, &err, 30);
  CHECK(code == 2);
  CHECK(err.find("LISTEN=UPSTREAM") != std::string::npos);
}

TEST_CASE("unix sockets on both sides: LISTEN and UPSTREAM given as paths") {
  TempDir tmp;
  std::string up_sock = tmp.path + "/node.sock", proxy_sock = tmp.path + "/proxy.sock";
  std::filesystem::create_directories(tmp.path + "/files");
  Child up = Child::spawn({"/usr/bin/env", "python3", here("upstream.py"), up_sock, tmp.path + "/files"},
                          tmp.path + "/up.out");
  REQUIRE(wait_for_text(tmp.path + "/up.out", "ready"));
  AgentProcess agent;
  REQUIRE(agent.start({"--pid", std::to_string(up.pid())}, {"--proxy", proxy_sock + "=" + up_sock}));
  auto r = shell("curl -s -f --unix-socket '" + proxy_sock + "' --data-binary 'hello node' http://localhost/api/x");
  INFO(r.out);
  REQUIRE(r.status == 0);
  auto d = json_of(r.out);
  REQUIRE(d.IsObject());
  CHECK(std::string(d["path"].GetString()) == "/api/x");
  CHECK(d["length"].GetInt() == 10);
}
