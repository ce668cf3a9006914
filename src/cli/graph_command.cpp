// tinyq graph: a picture of the model through Graphviz.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "inspect/graph_drawing.h"

namespace tinyq::cli {

void add_graph_command(CLI::App& app) {
  struct Options {
    std::string model, out, detail = "low";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("graph", "Draw the graph (SVG, PNG or DOT) with Graphviz");
  cmd->add_option("model", o->model, "Model (.h5 or .onnx, float or quantized)")->required();
  cmd->add_option("--out", o->out, "Output file: .svg, .png or .dot (default: <model>.svg beside the current folder)");
  cmd->add_option("--detail", o->detail, "low (ops, shapes, weights) or high (every constant, attribute and edge shape)")->capture_default_str();
  cmd->callback([o] {
    if (o->detail != "low" && o->detail != "high") throw Error("--detail '" + o->detail + "': expected low or high");
    const std::filesystem::path out = o->out.empty() ? std::filesystem::path(std::filesystem::path(o->model).stem().string() + ".svg")
                                                     : std::filesystem::path(o->out);
    std::string format = out.extension().string();
    if (format != ".svg" && format != ".png" && format != ".dot") throw Error(out.string() + ": expected a .svg, .png or .dot file");
    ensure_not_input(out, o->model);
    const std::string dot = inspect::graph_to_dot(load_as_run(o->model), o->detail == "high" ? inspect::Detail::high : inspect::Detail::low);
    write_file_atomically(out, inspect::render_graph(dot, format.substr(1)));
    std::printf("wrote %s\n", out.c_str());
  });
}

}  // namespace tinyq::cli
