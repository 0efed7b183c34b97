#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "sonde_version.h"

namespace sonde::cli {

int main(int argc, char** argv) {
  CLI::App app{"sonde: a sidecar debug agent. It attaches to a running server process (the node) by pid,\n"
               "and tells what every thread is doing, where the CPU goes and what the memory is used for."};
  app.set_version_flag("--version", std::string("sonde ") + SONDE_VERSION);
  app.require_subcommand(1);
  std::map<CLI::App*, Runner> runners;
  auto add = [&](Runner (*f)(CLI::App&)) {
    Runner r = f(app);
    runners[app.get_subcommands({}).back()] = std::move(r);
  };
  add(add_agent_command);
  add(add_status_command);
  add(add_stacks_command);
  add(add_profile_command);
  add(add_heap_command);
  add(add_mallocstats_command);
  add(add_demo_command);
  add(add_doctor_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sonde: %s; see `sonde --help`\n", e.what());
    return exit_usage;
  }
  for (auto* sub : app.get_subcommands())
    if (auto it = runners.find(sub); it != runners.end()) return it->second();
  return exit_usage;
}

}  // namespace sonde::cli
