// The subcommands of `sonde`. Each registers its flags on the CLI11 app and
// returns the function that runs it once the command line is parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace sonde::cli {

using Runner = std::function<int()>;

Runner add_agent_command(CLI::App& app);
Runner add_status_command(CLI::App& app);
Runner add_stacks_command(CLI::App& app);
Runner add_profile_command(CLI::App& app);
Runner add_heap_command(CLI::App& app);
Runner add_mallocstats_command(CLI::App& app);
Runner add_demo_command(CLI::App& app);
Runner add_doctor_command(CLI::App& app);

// Exit codes: 0 done, 1 the work failed (node gone, agent unreachable), 2 usage
// (unknown flag, missing target, unreadable config).
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

int main(int argc, char** argv);

}  // namespace sonde::cli
