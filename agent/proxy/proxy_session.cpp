#include "proxy/proxy_session.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <limits>

#include "protocol/error_body.h"
#include "protocol/iso_time.h"
#include "protocol/query.h"
#include "proxy/offload.h"
#include "render/profile_renderer.h"

namespace sonde::proxy {

namespace asio = boost::asio;
using generic = asio::generic::stream_protocol;
using clock = std::chrono::steady_clock;

namespace {

constexpr size_t kFormSniffBytes = 64 * 1024;  // profiler=true is looked for in this much of a form body
constexpr std::chrono::milliseconds kWriteTimeout{60000};

bool is_tcp(const generic::socket& s) {
  beast::error_code ec;
  auto ep = s.local_endpoint(ec);
  return !ec && (ep.protocol().family() == AF_INET || ep.protocol().family() == AF_INET6);
}

// Small requests and answers go out at once, not after the peer's delayed ACK.
void set_nodelay(generic::socket& s) {
  if (!is_tcp(s)) return;
  int one = 1;
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string peer_of(const generic::socket& s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "proxy:?";
  char host[INET6_ADDRSTRLEN] = "?";
  if (ep.protocol().family() == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(ep.data());
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (ep.protocol().family() == AF_INET6) {
    auto* in = reinterpret_cast<const sockaddr_in6*>(ep.data());
    ::inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in->sin6_port));
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(const_cast<generic::socket&>(s).native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
    return "unix:uid=" + std::to_string(cred.uid) + ",pid=" + std::to_string(cred.pid);
  return "unix:?";
}

bool closed_by_peer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == http::error::partial_message;
}

// Our connection to the node as /proc/net/tcp shows it (IPv4 only; else unknown).
TcpLink link_of(const generic::socket& s) {
  TcpLink link;
  beast::error_code ec;
  auto local = s.local_endpoint(ec);
  if (ec || local.protocol().family() != AF_INET) return link;
  auto remote = s.remote_endpoint(ec);
  if (ec) return link;
  auto* l = reinterpret_cast<const sockaddr_in*>(local.data());
  auto* r = reinterpret_cast<const sockaddr_in*>(remote.data());
  link.local_ip = l->sin_addr.s_addr;
  link.local_port = ntohs(l->sin_port);
  link.remote_ip = r->sin_addr.s_addr;
  link.remote_port = ntohs(r->sin_port);
  return link;
}

std::string lower_trim(std::string_view v) {
  std::string s;
  for (char c : v)
    if (c != ' ' && c != '\t') s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string joined_formats() {
  std::string s;
  for (const auto& f : render::profile_formats()) s += (s.empty() ? "" : ", ") + f;
  return s;
}

}  // namespace

ProxySession::ProxySession(generic::socket socket, const ProxyOptions& options, generic::endpoint upstream,
                           ApiProfiler* profiler)
    : down_(std::move(socket)), relay_buf_(64 * 1024), opt_(options), upstream_(std::move(upstream)), profiler_(profiler) {
  set_nodelay(down_.socket());
  peer_ = peer_of(down_.socket());
}

void ProxySession::close() {
  asio::post(down_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    beast::error_code ec;
    self->down_.socket().shutdown(generic::socket::shutdown_both, ec);
    self->down_.socket().close(ec);
    if (self->up_) self->up_->socket().close(ec);
  });
}

asio::awaitable<void> ProxySession::run(std::shared_ptr<ProxySession> self) {
  (void)self;  // held by the frame until the connection ends
  while (!closing_ && co_await serve_one()) {
  }
  beast::error_code ec;
  down_.socket().shutdown(generic::socket::shutdown_send, ec);
  down_.socket().close(ec);
  if (up_) up_->socket().close(ec);
}

asio::awaitable<beast::error_code> ProxySession::connect_upstream() {
  if (up_ && up_->socket().is_open()) co_return beast::error_code{};
  up_.emplace(down_.get_executor());
  up_buf_.consume(up_buf_.size());
  up_->expires_after(opt_.connect_timeout);
  beast::error_code ec;
  co_await up_->async_connect(upstream_, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    up_.reset();
    co_return ec;
  }
  set_nodelay(up_->socket());
  co_return ec;
}

asio::awaitable<void> ProxySession::answer(int status, const std::string& content_type, std::string body,
                                           unsigned version, bool keep_alive,
                                           const std::vector<std::pair<std::string, std::string>>& headers) {
  http::response<http::string_body> res{static_cast<http::status>(status), version < 10 ? 11u : version};
  res.set(http::field::server, "sonde");
  res.set(http::field::content_type, content_type);
  for (const auto& [k, v] : headers) res.set(k, v);
  res.body() = std::move(body);
  res.prepare_payload();
  res.keep_alive(keep_alive);
  down_.expires_after(kWriteTimeout);
  beast::error_code ec;
  co_await http::async_write(down_, res, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) closing_ = true;
}

asio::awaitable<void> ProxySession::answer_error(int status, const std::string& code, const std::string& message,
                                                 unsigned version) {
  // The request's body may be unread: the connection closes after the answer.
  co_await answer(status, "application/json", protocol::error_json(code, message), version, false);
}

void ProxySession::log(const std::string& method, const std::string& target, int status, uint64_t bytes, double ms,
                       const char* note) const {
  if (auto log = spdlog::get("access"))
    log->info("{} \"{} {}\" {} {} {:.1f}ms proxy{}", peer_, method, target, status, bytes, ms, note);
}

asio::awaitable<bool> ProxySession::serve_one() {
  http::request_parser<http::buffer_body> rp;
  rp.header_limit(static_cast<std::uint32_t>(opt_.header_bytes));
  rp.body_limit(std::numeric_limits<std::uint64_t>::max());  // streamed: the node decides what is too large
  // (not boost::none: Beast 1.74 compares a content length against an empty limit as exceeded)
  down_.expires_after(opt_.idle_timeout);
  beast::error_code ec;
  co_await http::async_read_header(down_, down_buf_, rp, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (ec == http::error::header_limit) {
      co_await answer_error(431, "header_too_large",
                            "request header over " + std::to_string(opt_.header_bytes) + " bytes", 11);
    } else if (!closed_by_peer(ec) && ec != beast::error::timeout && ec != asio::error::operation_aborted &&
               down_buf_.size() > 0) {
      co_await answer_error(400, "bad_request", "malformed HTTP request: " + ec.message(), 11);
    }
    co_return false;
  }
  const auto started = clock::now();
  auto& req = rp.get();
  CallRecord call;
  call.method = std::string(req.method_string());
  call.target = std::string(req.target());
  call.start_epoch = protocol::now_epoch();
  auto q = call.target.find('?');
  call.path = call.target.substr(0, q);
  if (auto decoded = protocol::url_decode(call.path, false)) call.path = *decoded;
  const std::string query = q == std::string::npos ? "" : call.target.substr(q + 1);
  const unsigned version = req.version();
  const bool client_keep = req.keep_alive();
  const bool head = req.method() == http::verb::head;
  auto ms_since = [&] { return std::chrono::duration<double, std::milli>(clock::now() - started).count(); };

  // What the caller asks of the agent. The profile header never reaches the node.
  bool header_profile = false;
  std::string format;
  if (auto it = req.find(opt_.profile_header); it != req.end() && profiler_) {
    header_profile = true;
    format = lower_trim(std::string_view(it->value().data(), it->value().size()));
    req.erase(opt_.profile_header);
  }
  bool job = profiler_ && wants_job_profile(query);
  const bool form = profiler_ && beast::string_view(req[http::field::content_type]).starts_with(
                                     "application/x-www-form-urlencoded");
  std::map<std::string, std::string> auth_headers;
  if (auto it = req.find(http::field::authorization); it != req.end())
    auth_headers["authorization"] = std::string(it->value());

  target::NodeId node{};
  if (header_profile) {
    if (auto refused = profiler_->refuse_unless_admin(auth_headers)) {
      co_await answer(refused->status, refused->content_type, refused->body, version, false);
      log(call.method, call.target, refused->status, 0, ms_since(), " (profile refused)");
      co_return false;
    }
    if (!render::profile_renderer(format)) {
      co_await answer_error(400, "bad_request",
                            opt_.profile_header + ": unknown profile format \"" + format + "\"; use one of: " +
                                joined_formats(),
                            version);
      co_return false;
    }
    auto n = profiler_->node();
    if (!n) {
      co_await answer_error(503, "no_node", n.error().message, version);
      co_return false;
    }
    node = *n;
  }

  // A client that waits for "100 Continue" gets it from us: the node then sees a plain request.
  if (auto it = req.find(http::field::expect); it != req.end()) {
    if (beast::iequals(it->value(), "100-continue")) {
      req.erase(http::field::expect);
      static const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
      down_.expires_after(kWriteTimeout);
      co_await asio::async_write(down_, asio::buffer(cont), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
    }
  }

  // The call's window on the shared sampler: per-call profile, or all-calls mode.
  CallSampler::WindowPtr window;
  bool recording = false;
  pid_t recording_node = 0;
  auto open_window = [&](const target::NodeId& n) -> asio::awaitable<Result<CallSampler::WindowPtr>> {
    if (auto w = profiler_->open_if_warm(n)) co_return w;
    std::function<Result<CallSampler::WindowPtr>()> open = [p = profiler_, n] { return p->open(n); };
    co_return co_await offload(profiler_->workers(), open);
  };
  auto drop_window = [&] {
    if (!window) return;
    if (recording) profiler_->skip_call();
    recording = false;
    profiler_->discard(window);
    window.reset();
  };
  if (header_profile) {
    auto w = co_await open_window(node);
    if (!w) {
      co_await answer_error(error_http_status(w.error().code), error_code_name(w.error().code),
                            "cannot profile the node: " + w.error().message, version);
      co_return false;
    }
    window = *w;
  } else if (profiler_ && profiler_->take_this_call()) {
    Result<CallSampler::WindowPtr> w = std::unexpected(Error{});
    if (auto n = profiler_->node()) {
      recording_node = n->pid;
      w = co_await open_window(*n);
    }
    if (w) {
      window = *w;
      recording = true;
    } else {
      profiler_->skip_call();
    }
  }

  // profiler=true, in the query or the form body (which goes to the node
  // unchanged): the job is profiled from the moment its request reached the node.
  std::string sniff;
  bool job_started = false;
  std::string job_note;
  auto start_job = [&]() -> asio::awaitable<void> {
    job_started = true;
    if (form && !job) job = wants_job_profile(sniff);
    if (!job) co_return;
    if (auto refused = profiler_->refuse_unless_admin(auth_headers)) {
      job_note = "refused: profiler=true needs the group:Admin role";
    } else if (auto n = profiler_->node(); !n) {
      job_note = "refused: " + n.error().message;
    } else {
      std::function<Result<std::string>()> start = [p = profiler_, path = call.path, n = *n] {
        return p->start_job(path, n);
      };
      auto stem = co_await offload(profiler_->workers(), start);
      job_note = stem ? "started: " + *stem + ".pstat and .calltree" : "refused: " + stem.error().message;
    }
    spdlog::info("proxy: {} {} with profiler=true: {}", call.method, call.target, job_note);
  };

  // Forward the request; a kept-alive connection to the node that turns out
  // closed is reopened once for a request without a body (nothing was lost).
  std::optional<http::response_parser<http::buffer_body>> pp;
  RelayResult fr;
  for (int attempt = 0;; ++attempt) {
    bool reused = up_.has_value();
    ec = co_await connect_upstream();
    if (ec) {
      drop_window();
      bool timeout = ec == beast::error::timeout;
      co_await answer_error(timeout ? 504 : 502, timeout ? "gateway_timeout" : "bad_gateway",
                            "cannot reach the node at " + opt_.spec.upstream.describe() + ": " +
                                (timeout ? "no connection within " + std::to_string(opt_.connect_timeout.count()) + " ms"
                                         : ec.message()) +
                                "; is it running and listening there?",
                            version);
      log(call.method, call.target, timeout ? 504 : 502, 0, ms_since(), " (upstream down)");
      co_return false;
    }
    fr = co_await relay<true>(down_, down_buf_, rp, &*up_, opt_.idle_timeout, opt_.upstream_timeout, relay_buf_,
                              form ? &sniff : nullptr, kFormSniffBytes);
    bool bodyless = fr.body_bytes == 0 && rp.is_done();
    if (fr.in_error) {  // the client went away or sent a broken body
      drop_window();
      co_return false;
    }
    if (!fr.out_error) {
      if (!job_started) co_await start_job();
      pp.emplace();
      pp->body_limit(std::numeric_limits<std::uint64_t>::max());
      pp->header_limit(static_cast<std::uint32_t>(opt_.header_bytes));
      if (head) pp->skip(true);
      up_->expires_after(opt_.upstream_timeout);
      co_await http::async_read_header(*up_, up_buf_, *pp, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) break;
    } else {
      ec = fr.out_error;
    }
    up_.reset();
    if (reused && bodyless && attempt == 0 && closed_by_peer(ec)) continue;
    drop_window();
    bool timeout = ec == beast::error::timeout;
    co_await answer_error(timeout ? 504 : 502, timeout ? "gateway_timeout" : "bad_gateway",
                          timeout ? "the node did not answer within " +
                                        std::to_string(opt_.upstream_timeout.count() / 1000) + " s"
                                  : "the node at " + opt_.spec.upstream.describe() +
                                        " gave no valid answer: " + ec.message(),
                          version);
    log(call.method, call.target, timeout ? 504 : 502, 0, ms_since(), " (upstream failed)");
    co_return false;
  }

  auto& res = pp->get();
  call.status = static_cast<int>(res.result_int());
  if (!job_note.empty()) res.set("X-Sonde-Job-Profile", job_note);
  const bool up_keep = res.keep_alive() && !pp->need_eof();

  if (header_profile) {
    // The node's answer is read and dropped; the profile is the answer.
    auto rr = co_await relay<false>(*up_, up_buf_, *pp, nullptr, opt_.upstream_timeout, kWriteTimeout, relay_buf_);
    call.duration_ms = ms_since();
    profiler_->end(window);
    // A connection the node closed has no thread parked on it any more.
    TcpLink link = rr.ok() && up_keep ? link_of(up_->socket()) : TcpLink{};
    if (!rr.ok() || !up_keep) up_.reset();
    auto w = window;
    window.reset();
    std::function<CallProfileFile()> finish = [p = profiler_, w, call, format, pid = node.pid, link] {
      return p->finish_call(w, call, format, pid, link);
    };
    auto file = co_await offload(profiler_->workers(), finish);
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Disposition", "attachment; filename=\"" + file.name + "\""},
        {"X-Sonde-Call-Status", std::to_string(call.status)},
        {"X-Sonde-Call-Duration-Ms", fmt::format("{:.3f}", call.duration_ms)},
        {"X-Sonde-Samples", std::to_string(file.samples)},
        {"X-Sonde-Sampler", file.sampler},
        {"X-Sonde-Thread", file.thread ? std::to_string(file.thread) : "all"}};
    uint64_t size = file.data.size();
    co_await answer(200, file.content_type, std::move(file.data), version, client_keep, headers);
    log(call.method, call.target, 200, size, ms_since(), " (profiled)");
    co_return client_keep && !closing_;
  }

  auto rr = co_await relay<false>(*up_, up_buf_, *pp, &down_, opt_.upstream_timeout, kWriteTimeout, relay_buf_);
  call.duration_ms = ms_since();
  if (recording) {
    TcpLink link = rr.ok() && up_keep ? link_of(up_->socket()) : TcpLink{};
    profiler_->record_call(window, call, recording_node, link);
    window.reset();
  }
  log(call.method, call.target, call.status, rr.body_bytes, call.duration_ms, "");
  if (!rr.ok()) co_return false;
  if (!up_keep) up_.reset();
  co_return client_keep && res.keep_alive() && !pp->need_eof() && !closing_;
}

}  // namespace sonde::proxy
