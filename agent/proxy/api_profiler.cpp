#include "proxy/api_profiler.h"

#include <boost/asio/post.hpp>

#include "protocol/query.h"
#include "render/profile_renderer.h"

namespace sonde::proxy {

ApiProfiler::ApiProfiler(ProxyOptions options, NodeSource node, AdminCheck admin)
    : opt_(std::move(options)),
      node_(std::move(node)),
      admin_(std::move(admin)),
      sampler_(opt_.hz),
      jobs_(JobOptions{opt_.logs, opt_.job_seconds, opt_.job_status_url, opt_.job_running_pattern},
            sampler_) {
  if (opt_.all_calls)
    writer_ = std::make_unique<AllCallsWriter>(opt_.logs + "/api_profiler", opt_.all_calls_rate, opt_.all_calls_keep,
                                               opt_.all_calls_max_bytes);
}

std::optional<serve::Response> ApiProfiler::refuse_unless_admin(const std::map<std::string, std::string>& headers) const {
  if (!admin_) return std::nullopt;
  serve::Request req;
  req.headers = headers;
  req.transport = serve::Transport::tcp;  // the proxy's callers show a token, wherever they connect from
  req.target = "(proxy)";
  return admin_(req);
}

Result<target::NodeId> ApiProfiler::node() const {
  auto n = node_ ? node_() : std::nullopt;
  if (!n) return fail(ErrorCode::no_node, "no node attached to profile; the call was not forwarded (see sonde status)");
  return *n;
}

namespace {
// How long the serving thread may take to park on the connection again after its answer.
constexpr std::chrono::milliseconds kThreadLookup{20};

void note_thread(aggregate::Profile& profile, pid_t tid) {
  profile.info.notes.emplace_back(
      "thread", tid ? std::to_string(tid) + " (the node's thread that served the call)"
                    : "all (the thread that served the call is not known: the whole node during the call)");
}
}  // namespace

CallProfileFile ApiProfiler::finish_call(const CallSampler::WindowPtr& w, const CallRecord& call,
                                         const std::string& format, pid_t node_pid, const TcpLink& link) {
  pid_t tid = serving_thread(node_pid, link, kThreadLookup);
  auto profile = sampler_.close(w, tid);
  annotate(profile, call);
  note_thread(profile, tid);
  auto renderer = render::profile_renderer(format);
  CallProfileFile f;
  f.name = call_stem(call) + renderer->file_extension();
  f.content_type = renderer->content_type();
  f.data = renderer->render(profile);
  f.samples = profile.info.samples;
  f.sampler = profile.info.sampler;
  f.thread = tid;
  return f;
}

void ApiProfiler::record_call(const CallSampler::WindowPtr& w, const CallRecord& call, pid_t node_pid,
                              const TcpLink& link) {
  sampler_.end(w);
  // The serving thread is looked for on the pool; the window completes on the
  // sampler's thread; rendering and writing go back to the pool.
  boost::asio::post(pool_, [this, w, call, node_pid, link] {
    pid_t tid = serving_thread(node_pid, link, kThreadLookup);
    sampler_.close_async(w, tid, [this, call, tid](aggregate::Profile p) {
      auto profile = std::make_shared<aggregate::Profile>(std::move(p));
      note_thread(*profile, tid);
      boost::asio::post(pool_, [this, call, profile] { writer_->write(std::move(*profile), call); });
    });
  });
}

Result<std::string> ApiProfiler::start_job(const std::string& path, const target::NodeId& node) {
  auto id = job_id(path, opt_.job_id_pattern);
  if (!id)
    return fail(ErrorCode::bad_request, "profiler=true: the path " + path + " does not match --job-id-pattern " +
                                            opt_.job_id_pattern + " (its first group names the files)");
  return jobs_.start(*id, node);
}

bool wants_job_profile(const std::string& params) {
  auto p = protocol::parse_params(params);
  if (!p) return false;
  auto it = p->find("profiler");
  return it != p->end() && (it->second == "true" || it->second == "1" || it->second == "yes");
}

}  // namespace sonde::proxy
