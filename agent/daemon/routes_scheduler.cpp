// GET /api/scheduler (safe mode on or off, why, and each job's counters) and
// POST /api/scheduler {"disabled": true|false} (safe mode at run time).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include "daemon/agent_context.h"
#include "protocol/iso_time.h"
#include "protocol/query.h"
#include "protocol/routes.h"

namespace sonde::daemon {

using serve::Reply;
using serve::Request;
using serve::Response;

namespace {

std::string state_json(schedule::Scheduler& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("disabled");
  w.Bool(s.disabled());
  w.Key("reason");
  w.String(s.reason().c_str());
  w.Key("capture_in_progress");
  w.Bool(s.gate().busy());
  w.Key("jobs");
  w.StartArray();
  for (const auto& j : s.jobs()) {
    w.StartObject();
    w.Key("name");
    w.String(j.name.c_str());
    w.Key("interval_seconds");
    w.Double(j.interval_seconds);
    w.Key("takes_capture");
    w.Bool(j.takes_capture);
    w.Key("running");
    w.Bool(j.running);
    w.Key("runs");
    w.Int64(j.runs);
    w.Key("failures");
    w.Int64(j.failures);
    w.Key("skipped");
    w.Int64(j.skipped);
    if (j.last_run > 0) {
      w.Key("last_run");
      w.String(protocol::iso_utc(j.last_run).c_str());
    }
    if (!j.last_error.empty()) {
      w.Key("last_error");
      w.String(j.last_error.c_str());
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

// {"disabled": true|false} as JSON, or disabled=true as a form or query.
Result<bool> wanted_state(const Request& req) {
  const char* usage = "send {\"disabled\": true} or {\"disabled\": false}";
  std::string body = req.body;
  auto first = body.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && body[first] == '{') {
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    if (d.HasParseError() || !d.IsObject()) return fail(ErrorCode::bad_request, std::string("not valid JSON; ") + usage);
    auto m = d.FindMember("disabled");
    if (m == d.MemberEnd() || !m->value.IsBool())
      return fail(ErrorCode::bad_request, std::string("\"disabled\" must be true or false; ") + usage);
    return m->value.GetBool();
  }
  protocol::Params params = req.query;
  if (first != std::string::npos) {
    auto form = protocol::parse_params(body);
    if (!form) return std::unexpected(form.error());
    params.insert(form->begin(), form->end());
  }
  auto v = protocol::param_bool(params, "disabled");
  if (!v) return std::unexpected(v.error());
  if (!*v) return fail(ErrorCode::bad_request, usage);
  return **v;
}

}  // namespace

void add_scheduler_routes(AgentContext& ctx) {
  const std::string path = protocol::routes::scheduler;
  ctx.router.add("GET", path, [&ctx](const Request&, Reply reply) {
    reply(Response::json(200, state_json(*ctx.scheduler)));
  });
  ctx.router.add("POST", path, [&ctx](const Request& req, Reply reply) {
    auto want = wanted_state(req);
    if (!want) return reply(Response::error(want.error()));
    std::string who = "POST /api/scheduler from " + req.peer;
    spdlog::info("{}: disabled={}", who, *want);
    ctx.scheduler->set_disabled(*want, who);
    reply(Response::json(200, state_json(*ctx.scheduler)));
  });
}

}  // namespace sonde::daemon
