#pragma once
// One subcommand a file; each registers its options and callback on the app.
// The CLI holds no logic beyond parsing arguments and printing results.
#include <CLI/CLI.hpp>

namespace tinyq::cli {

void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_convert_command(CLI::App& app);

// Shared formatting: 12501632 -> "12,501,632".
std::string with_commas(std::int64_t value);

}  // namespace tinyq::cli
