// tinyq fetch: download and check the model, index files and CIFAR-10 into the assets folder.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "core/assets.h"
#include "fetch/fetch_assets.h"

namespace tinyq::cli {

void add_fetch_command(CLI::App& app) {
  struct Options {
    std::string assets, mirror;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "fetch", "Download the MLPerf Tiny models and index files and CIFAR-10 into the assets folder, checking SHA-256s");
  cmd->add_option("--assets", o->assets, "Folder to fill (default: the assets folder, see TINYQ_ASSETS)");
  cmd->add_option("--mirror", o->mirror,
                  "Base URL serving the files at their upstream paths (default: $TINYQ_MIRROR, else upstream)");
  cmd->callback([o] {
    fetch::FetchOptions options;
    options.assets = o->assets.empty() ? assets_root() : std::filesystem::path(o->assets);
    options.mirror = o->mirror;
    if (options.mirror.empty())
      if (const char* env = std::getenv("TINYQ_MIRROR"); env && *env) options.mirror = env;
    std::printf("assets  %s (%s)\n", options.assets.c_str(),
                o->assets.empty() ? assets_root_origin().c_str() : "from --assets");
    std::printf("source  %s\n", options.mirror.empty() ? "mlcommons/tiny @ 1afd2c98 and the CIFAR-10 page"
                                                       : options.mirror.c_str());
    std::string bar_label;
    std::unique_ptr<ProgressBar> bar;
    fetch::FetchEvents events;
    events.note = [&](const std::string& line) {
      if (bar) bar->finish();
      std::printf("  %s\n", line.c_str());
      std::fflush(stdout);
    };
    events.progress = [&](const std::string& what, std::uint64_t done, std::uint64_t total) {
      if (!bar || what != bar_label) {
        if (bar) bar->finish();
        bar_label = what;
        bar = std::make_unique<ProgressBar>(bar_label.c_str());
      }
      bar->update(static_cast<std::size_t>(done), static_cast<std::size_t>(total));
    };
    const auto summary = fetch::fetch_assets(options, events);
    if (bar) bar->finish();
    std::printf("done    %d downloaded, %d already present%s\n", summary.downloaded, summary.present,
                summary.optional_missing.empty() ? "" : ", optional files missing upstream skipped");
  });
}

}  // namespace tinyq::cli
