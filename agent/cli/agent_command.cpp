// `sonde agent`: the daemon. Its flags come from config::agent_keys(), the
// same table the JSON config file is read with, so flags win key by key.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "config/agent_config.h"
#include "daemon/daemon.h"

namespace sonde::cli {

namespace {
struct AgentArgs {
  config::AgentConfig cfg;
  std::map<std::string, CLI::Option*> options;
};
}  // namespace

Runner add_agent_command(CLI::App& app) {
  auto* sub = app.add_subcommand("agent", "run the daemon attached to the node (stays in the foreground)");
  auto args = std::make_shared<AgentArgs>();
  args->cfg.logs = config::default_logs_dir();
  args->cfg.socket = config::default_socket_path();
  for (const auto& key : config::agent_keys()) {
    void* field = key.field(args->cfg);
    std::string flag = "--" + key.name;
    CLI::Option* opt = nullptr;
    switch (key.kind) {
      case config::Kind::pid:
        opt = sub->add_option(flag, *static_cast<pid_t*>(field), key.help)->check(CLI::PositiveNumber);
        break;
      case config::Kind::integer:
        opt = sub->add_option(flag, *static_cast<int64_t*>(field), key.help);
        break;
      case config::Kind::real:
        opt = sub->add_option(flag, *static_cast<double*>(field), key.help);
        break;
      case config::Kind::text:
        opt = sub->add_option(flag, *static_cast<std::string*>(field), key.help);
        break;
      case config::Kind::flag:
        opt = sub->add_flag(flag, *static_cast<bool*>(field), key.help);
        break;
    }
    args->options[key.name] = opt;
  }
  sub->add_option("--config", args->cfg.config_file, "JSON file with the same keys as these flags; flags win");
  return [args]() -> int {
    if (!args->cfg.config_file.empty()) {
      std::vector<std::string> given;
      for (auto& [name, opt] : args->options)
        if (opt->count() > 0) given.push_back(name);
      if (auto r = config::apply_config_file(args->cfg.config_file, given, args->cfg); !r) {
        std::fprintf(stderr, "sonde agent: %s\n", r.error().message.c_str());
        return exit_usage;
      }
    }
    if (auto r = config::validate(args->cfg); !r) {
      std::fprintf(stderr, "sonde agent: %s\n", r.error().message.c_str());
      return exit_usage;
    }
    daemon::Daemon d(args->cfg);
    if (auto r = d.start(); !r) {
      spdlog::error("{}", r.error().message);
      std::fprintf(stderr, "sonde agent: %s\n", r.error().message.c_str());
      return exit_usage;
    }
    return d.run();
  };
}

}  // namespace sonde::cli
