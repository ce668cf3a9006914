// tinyq: Keras -> ONNX/PyTorch conversion, evaluation, int8 quantization and
// quantized-operation reference for TinyML models.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/error.h"

namespace tinyq::cli {

std::string with_commas(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

}  // namespace tinyq::cli

int main(int argc, char** argv) {
  CLI::App app{"tinyq: convert, evaluate and quantize TinyML models (Keras .h5 in, ONNX semantics inside)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tinyq 0.1.0");
  tinyq::cli::add_eval_command(app);
  tinyq::cli::add_info_command(app);
  tinyq::cli::add_run_command(app);
  tinyq::cli::add_convert_command(app);
  tinyq::cli::add_quantize_command(app);
  tinyq::cli::add_compare_command(app);
  tinyq::cli::add_ops_command(app);
  tinyq::cli::add_graph_command(app);
  tinyq::cli::add_golden_command(app);
  tinyq::cli::add_doc_command(app);
  tinyq::cli::add_fetch_command(app);
  tinyq::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tinyq::Error& e) {
    std::fprintf(stderr, "tinyq: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinyq: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
