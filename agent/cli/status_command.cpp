// `sonde status`: the /api/status document, from the node directly (--pid)
// or from a running agent. Both print the same JSON.
#include <cstdio>
#include <memory>

#include "cli/client_target.h"
#include "cli/commands.h"
#include "host/virtual_memory.h"
#include "protocol/iso_time.h"
#include "protocol/routes.h"
#include "protocol/status_doc.h"
#include "sonde_version.h"
#include "target/node_facts.h"

namespace sonde::cli {

namespace {
struct StatusArgs {
  ClientTarget target;
  bool pretty = false;
};

int local_status(pid_t pid, bool pretty) {
  auto id = target::identify(pid);
  if (!id) return report_error("status", id.error());
  auto facts = target::read_node_facts(*id);
  if (!facts) return report_error("status", facts.error());
  auto vm = host::read_virtual_memory();
  protocol::AgentInfo info{protocol::make_agent_id(), SONDE_VERSION, protocol::now_epoch()};
  std::string json = protocol::status_json(info, *facts, vm ? *vm : host::VirtualMemory{}, protocol::now_epoch());
  if (pretty) json = pretty_json(json);
  std::fwrite(json.data(), 1, json.size(), stdout);
  return 0;
}
}  // namespace

Runner add_status_command(CLI::App& app) {
  auto* sub = app.add_subcommand("status", "the node's and the agent's status as JSON (as GET /api/status)");
  auto args = std::make_shared<StatusArgs>();
  args->target.add_flags(sub);
  sub->add_flag("--pretty", args->pretty, "indent the JSON for people");
  return [args]() -> int {
    if (auto r = args->target.check(); !r) return report_error("status", r.error());
    if (args->target.local()) return local_status(args->target.pid, args->pretty);
    return fetch_and_print(args->target, protocol::routes::status, args->pretty);
  };
}

}  // namespace sonde::cli
