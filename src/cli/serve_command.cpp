// tinyq serve: the quantization playground, a local web page over the
// integer engine (docs/playground.md).
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/assets.h"
#include "core/error.h"
#include "serve/playground_server.h"

namespace tinyq::cli {

void add_serve_command(CLI::App& app) {
  struct Options {
    std::string model;
    serve::ServerOptions server;
    serve::SessionOptions session;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "Quantization playground: a local web page with per-layer edits and live accuracy");
  cmd->add_option("model", o->model, "Float model (.h5, .onnx or float .tflite; default: the MLPerf Tiny ResNet8 .h5 from the assets)");
  cmd->add_option("--port", o->server.port, "TCP port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--host", o->server.host, "Address to listen on (loopback by default; others print a warning)")->capture_default_str();
  cmd->add_option("--eval-count", o->session.eval_count, "Test images evaluated after every edit (stratified, 1..10000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--calib-count", o->session.calibration_count, "Calibration images (stratified, from data_batch_1.bin)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--threads", o->session.threads, "Threads (default: all cores)");
  cmd->callback([o] {
    o->session.model = o->model.empty() ? require_asset("models/pretrainedResnet.h5").string() : o->model;
    o->session.stats_images = std::min<std::size_t>(100, o->session.eval_count);
    const auto started = std::chrono::steady_clock::now();
    std::fprintf(stderr, "serve: calibrating %s on %zu images and evaluating %zu test images...\n", o->session.model.c_str(),
                 o->session.calibration_count, o->session.eval_count);
    serve::Session session(o->session);
    const auto s = session.current();
    std::fprintf(stderr, "serve: ready in %.1f s: fp32 %.2f%%, int8 %.2f%% on %zu images (one edit: build %.0f ms + evaluate %.0f ms)\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), session.float_accuracy(o->session.eval_count),
                 s->accuracy, o->session.eval_count, s->build_ms, s->evaluate_ms);
    o->server.web_dir = source_root() / "src/serve/web";
    o->server.node_modules_dir = source_root() / "node_modules";
    if (!std::filesystem::exists(o->server.node_modules_dir / "preact"))
      throw Error(o->server.node_modules_dir.string() + ": the page's packages (preact, htm, plotly.js-dist-min) are missing; run scripts/setup.sh");
    serve::serve(session, o->server, [&](int port) {
      std::printf("tinyq playground: http://%s:%d/\n", o->server.host.c_str(), port);
      std::fflush(stdout);
    });
  });
}

}  // namespace tinyq::cli
