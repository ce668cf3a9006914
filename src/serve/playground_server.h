#pragma once
// `tinyq serve`: the playground's HTTP server (cpp-httplib) — the JSON API
// documented in docs/playground.md and the page under src/serve/web, with its
// front-end packages served from the checkout's node_modules.
#include <filesystem>
#include <functional>
#include <string>

#include "serve/playground_session.h"

namespace tinyq::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                         // 0: any free port (printed)
  std::filesystem::path web_dir;           // index.html, app.js, style.css
  std::filesystem::path node_modules_dir;  // preact, htm, plotly.js-dist-min
  std::size_t max_body_bytes = 1 << 20;
};

// Serves until the process is interrupted. `on_listening` gets the bound port.
void serve(Session& session, const ServerOptions& options, const std::function<void(int port)>& on_listening);

}  // namespace tinyq::serve
