// `sonde doctor --pid N`: can an agent attach to this node from here, and
// what to fix if not. Exit 0 when it can (stacks at least), 1 when it cannot.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "doctor/doctor.h"

namespace sonde::cli {

namespace {
struct DoctorArgs {
  pid_t pid = 0;
  bool json = false;
};
}  // namespace

Runner add_doctor_command(CLI::App& app) {
  auto* sub = app.add_subcommand("doctor", "check that an attach to the node will work, and print the fix for each "
                                           "problem (never stops the node)");
  auto args = std::make_shared<DoctorArgs>();
  sub->add_option("--pid", args->pid, "the node's pid, as this process sees it")->required();
  sub->add_flag("--json", args->json, "one JSON document instead of lines");
  return [args]() -> int {
    if (args->pid <= 0) {
      std::fprintf(stderr, "sonde doctor: --pid must be a positive pid\n");
      return exit_usage;
    }
    doctor::Report report = doctor::run_doctor(args->pid);
    std::string out = args->json ? doctor::render_json(report) : doctor::render_text(report);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return report.attach_will_work() ? 0 : exit_failure;
  };
}

}  // namespace sonde::cli
