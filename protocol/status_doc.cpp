#include "protocol/status_doc.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include "protocol/iso_time.h"

namespace sonde::protocol {

namespace {
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Writer& w, const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); }

void node_json(Writer& w, const target::NodeFacts& n, double now) {
  w.StartObject();
  w.Key("pid");
  w.Int(n.pid);
  w.Key("cmdline");
  w.StartArray();
  for (auto& a : n.cmdline) str(w, a);
  w.EndArray();
  w.Key("exe");
  str(w, n.exe);
  w.Key("start_time");
  str(w, iso_utc(n.start_time));
  w.Key("uptime");
  w.Double(now > n.start_time ? now - n.start_time : 0);
  w.Key("num_threads");
  w.Int64(n.num_threads);
  if (n.num_fds >= 0) {
    w.Key("num_fds");
    w.Int64(n.num_fds);
  }
  w.Key("cpu_times");
  w.StartObject();
  w.Key("user");
  w.Double(n.cpu_times.user);
  w.Key("system");
  w.Double(n.cpu_times.system);
  w.Key("children_user");
  w.Double(n.cpu_times.children_user);
  w.Key("children_system");
  w.Double(n.cpu_times.children_system);
  w.Key("iowait");
  w.Double(n.cpu_times.iowait);
  w.EndObject();
  w.Key("memory_info");
  w.StartObject();
  const auto& m = n.memory_info;
  for (auto [k, v] : {std::pair{"rss", m.rss}, {"vms", m.vms}, {"shared", m.shared}, {"text", m.text},
                      {"lib", m.lib}, {"data", m.data}, {"dirty", m.dirty}}) {
    w.Key(k);
    w.Uint64(v);
  }
  w.EndObject();
  w.EndObject();
}

void health_json(Writer& w, const HealthSummary& h) {
  w.StartObject();
  w.Key("url");
  str(w, h.url);
  w.Key("healthy");
  w.Bool(h.healthy());
  w.Key("state");
  str(w, h.state);
  w.Key("consecutive_failures");
  w.Int64(h.consecutive_failures);
  w.Key("checks");
  w.Int64(h.checks);
  if (h.last_check_time > 0) {
    w.Key("last_check");
    str(w, iso_utc(h.last_check_time));
    w.Key("last_result");
    str(w, h.last_result);
    w.Key("last_latency_ms");
    w.Double(h.last_latency_ms);
  }
  w.EndObject();
}
}  // namespace

std::string status_json(const AgentInfo& agent, const std::optional<target::NodeFacts>& node,
                        const host::VirtualMemory& vm, double now, const std::optional<HealthSummary>& health) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("agent_id");
  str(w, agent.agent_id);
  w.Key("agent_version");
  str(w, agent.agent_version);
  w.Key("agent_start_time");
  str(w, iso_utc(agent.agent_start_time));
  w.Key("agent_uptime");
  w.Double(now - agent.agent_start_time);
  w.Key("node");
  if (node)
    node_json(w, *node, now);
  else
    w.Null();
  w.Key("psutil.virtual_memory");
  w.StartObject();
  for (auto [k, v] : {std::pair{"total", vm.total}, {"available", vm.available}}) {
    w.Key(k);
    w.Uint64(v);
  }
  w.Key("percent");
  w.Double(vm.percent);
  for (auto [k, v] : {std::pair{"used", vm.used}, {"free", vm.free}, {"active", vm.active},
                      {"inactive", vm.inactive}, {"buffers", vm.buffers}, {"cached", vm.cached},
                      {"shared", vm.shared}, {"slab", vm.slab}}) {
    w.Key(k);
    w.Uint64(v);
  }
  w.EndObject();
  if (health) {
    w.Key("health");
    health_json(w, *health);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string make_agent_id() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "/" + std::to_string(::getpid());
}

}  // namespace sonde::protocol
