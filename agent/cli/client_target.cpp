#include "cli/client_target.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdio>

#include "cli/commands.h"

namespace sonde::cli {

void ClientTarget::add_flags(CLI::App* sub) {
  sub->add_option("--pid", pid, "read the node with this pid directly (one shot, no daemon)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--socket", socket, "ask the agent on this unix socket");
  sub->add_option("--url", url, "ask the agent at this URL (http://HOST:PORT)");
}

Result<void> ClientTarget::check() const {
  int n = (pid > 0) + !socket.empty() + !url.empty();
  if (n == 0) return fail(ErrorCode::bad_request, "no target: give --pid N, --socket PATH or --url URL");
  if (n > 1) return fail(ErrorCode::bad_request, "give only one of --pid, --socket and --url");
  return {};
}

Result<client::Endpoint> ClientTarget::endpoint() const {
  if (!socket.empty()) return client::unix_endpoint(socket);
  return client::parse_url(url);
}

std::string pretty_json(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError()) return json;
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  doc.Accept(w);
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

int report_error(const char* cmd, const Error& e) {
  std::fprintf(stderr, "sonde %s: %s\n", cmd, e.message.c_str());
  return e.code == ErrorCode::bad_request ? exit_usage : exit_failure;
}

int fetch_and_print(const ClientTarget& t, const std::string& target, bool pretty) {
  auto ep = t.endpoint();
  if (!ep) return report_error("client", ep.error());
  auto res = client::request(*ep, "GET", target);
  if (!res) return report_error("client", res.error());
  if (res->status / 100 != 2) {
    // Show the agent's own message: it says what to do.
    rapidjson::Document doc;
    doc.Parse(res->body.c_str());
    std::string msg = res->body;
    if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("error") && doc["error"].IsObject() &&
        doc["error"].HasMember("message") && doc["error"]["message"].IsString())
      msg = doc["error"]["message"].GetString();
    std::fprintf(stderr, "sonde: the agent answered %d: %s\n", res->status, msg.c_str());
    return exit_failure;
  }
  std::string out = pretty ? pretty_json(res->body) : res->body;
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace sonde::cli
