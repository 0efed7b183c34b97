#include "log/logging.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

namespace sonde::log {

namespace {
LogOptions g_opts;

std::shared_ptr<spdlog::sinks::sink> rotating(const std::string& file) {
  return std::make_shared<spdlog::sinks::rotating_file_sink_mt>(g_opts.dir + "/" + file,
                                                                static_cast<size_t>(g_opts.max_bytes),
                                                                static_cast<size_t>(g_opts.keep));
}
}  // namespace

Result<void> setup(const LogOptions& opts) {
  g_opts = opts;
  std::vector<spdlog::sink_ptr> main_sinks, access_sinks;
  bool tty = ::isatty(STDERR_FILENO);
  if (opts.to_stderr || tty || opts.dir.empty()) main_sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  Result<void> result;
  if (!opts.dir.empty()) {
    try {
      std::filesystem::create_directories(opts.dir);
      main_sinks.push_back(rotating("sonde.log"));
      access_sinks.push_back(rotating("access.log"));
    } catch (const std::exception& e) {
      // Keep serving with stderr logging: a full or read-only disk must not stop the agent.
      result = fail(ErrorCode::io, std::string("cannot write logs in ") + opts.dir + ": " + e.what());
      if (main_sinks.empty()) main_sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      g_opts.dir.clear();
    }
  }
  auto main = std::make_shared<spdlog::logger>("sonde", main_sinks.begin(), main_sinks.end());
  main->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  main->flush_on(spdlog::level::info);
  spdlog::set_default_logger(main);
  spdlog::drop("access");
  auto access = std::make_shared<spdlog::logger>("access", access_sinks.begin(), access_sinks.end());
  access->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
  access->flush_on(spdlog::level::info);
  spdlog::register_logger(access);
  return result;
}

void setup_stderr_only() {
  auto l = std::make_shared<spdlog::logger>("sonde", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  l->set_pattern("sonde: %^%l%$: %v");
  l->set_level(spdlog::level::warn);
  spdlog::set_default_logger(l);
}

void add_file_logger(const std::string& name, const std::string& file) {
  if (g_opts.dir.empty() || spdlog::get(name)) return;
  try {
    auto l = std::make_shared<spdlog::logger>(name, rotating(file));
    l->set_pattern("%v");
    l->flush_on(spdlog::level::info);
    spdlog::register_logger(l);
  } catch (const std::exception& e) {
    spdlog::error("cannot open {}/{}: {}", g_opts.dir, file, e.what());
  }
}

void flush_all() {
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
}

}  // namespace sonde::log
