// Safe mode, as the seed's "preventing pipes from automatically running": the
// agent starts with no scheduled job at all (the on-demand API still works)
// when `startup_options.json` in the data folder, or the config file, says
//   {"task_manager": {"disable_pump_scheduler": true}}
// (also in the seed's metadata entity form, {"_id": "node", "type":
// "metadata", "task_manager": {...}}). A file that is there but cannot be
// read or understood means safe mode too: that is the safer reading when an
// operator was trying to switch the jobs off.
#pragma once

#include <string>

namespace sonde::schedule {

struct SafeMode {
  bool disabled = false;  // no scheduled jobs
  std::string why;        // where the decision came from, for the log and GET /api/scheduler
  bool malformed = false; // the file was there but not understood
};

// The text of a startup_options.json; `origin` names it in messages.
SafeMode parse_startup_options(const std::string& text, const std::string& origin);
// DIR/startup_options.json; no folder or no file: not disabled.
SafeMode read_startup_options(const std::string& data_dir);
// The config file's task_manager key (already parsed) or else the data folder's file.
SafeMode decide_safe_mode(bool disabled_by_config, const std::string& data_dir);

}  // namespace sonde::schedule
