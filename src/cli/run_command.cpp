// tinyq run: one forward pass on an .npy input, writing any tensor as .npy.
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/npy.h"
#include "importers/load_model.h"
#include "passes/optimize.h"
#include "runtime/executor.h"

namespace tinyq::cli {
namespace {

struct RunOptions {
  std::string model, input, out, tensor;
  bool no_optimize = false;
};

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model on an .npy input (in the model's NCHW layout) and write a tensor");
  cmd->add_option("model", o->model, "Model file (.h5)")->required();
  cmd->add_option("--input", o->input, "Input .npy (float32, e.g. [N,3,32,32] for ResNet8)")->required();
  cmd->add_option("--out", o->out, "Output .npy")->required();
  cmd->add_option("--tensor", o->tensor, "Write this intermediate tensor instead of the model output");
  cmd->add_flag("--no-optimize", o->no_optimize, "Run the imported graph as is (no BatchNorm folding or fusion)");
  cmd->callback([o] {
    ir::Graph graph = importers::load_model(o->model);
    if (!o->no_optimize) passes::optimize_for_inference(graph);
    const runtime::Executor executor(std::move(graph));
    const Tensor input = read_npy(o->input);
    ensure_not_input(o->out, o->input);
    ensure_not_input(o->out, o->model);
    if (o->tensor.empty()) {
      write_npy(o->out, executor.run({input}).at(0));
    } else {
      write_npy(o->out, executor.run_with_taps({input}, {o->tensor}).at(o->tensor));
    }
  });
}

}  // namespace tinyq::cli
