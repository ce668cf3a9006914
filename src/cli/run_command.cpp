// tinyq run: one forward pass on an input, writing the output or any tensors as .npy.
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "eval/cifar10.h"
#include "eval/evaluate.h"
#include "importers/load_model.h"
#include "passes/optimize.h"
#include "runtime/executor.h"

namespace tinyq::cli {
namespace {

struct RunOptions {
  std::string model, input, out, out_dir, requant = "auto", kernels = "auto";
  std::vector<std::string> tensors;
  bool no_optimize = false;
};

// A float32 .npy in the model's layout, or a CIFAR-10 .bin batch (raw pixels, NCHW).
Tensor read_input(const std::string& path) {
  if (path.size() > 4 && path.substr(path.size() - 4) == ".bin") {
    const auto images = eval::read_cifar10({path});
    return eval::image_batch_f32(images, 0, images.size());
  }
  return read_npy(path);
}

std::string file_name_for(const std::string& tensor) {
  std::string name = tensor;
  for (char& c : name)
    if (c == '/' || c == '\\') c = '_';
  return name + ".npy";
}

}  // namespace

runtime::OpOptions op_options(const std::string& requant, const std::string& kernels, const std::string& model) {
  runtime::OpOptions options;
  options.kernels = kernels::parse_kernel_policy(kernels);
  // auto: the arithmetic of the runtime the model was made for. For .tflite
  // files that is TFLite's runtime as shipped (XNNPACK delegate), which tinyq
  // reproduces to the last bit; --requant tflite gives its reference kernels
  // (TFLite Micro's arithmetic) instead.
  const bool tflite_model = std::filesystem::path(model).extension() == ".tflite";
  if (requant == "fixed") options.requant = kernels::RequantMode::fixed_point;
  else if (requant == "tflite") options.requant = kernels::RequantMode::tflite;
  else if (requant == "xnnpack" || (requant == "auto" && tflite_model)) options.requant = kernels::RequantMode::xnnpack;
  else if (requant != "float" && requant != "auto")
    throw Error("--requant '" + requant + "': expected auto, float, fixed, tflite or xnnpack");
  return options;
}

std::string requant_name(kernels::RequantMode mode) {
  switch (mode) {
    case kernels::RequantMode::float_multiplier: return "float";
    case kernels::RequantMode::fixed_point: return "fixed";
    case kernels::RequantMode::tflite: return "tflite";
    case kernels::RequantMode::xnnpack: return "xnnpack";
  }
  return "";
}

const char* const kRequantHelp =
    "Integer arithmetic: auto (xnnpack for .tflite models, else float), float (ONNX Runtime's rule), fixed "
    "(integer-only, single rounding), tflite (TFLite's reference kernels: gemmlowp double rounding) or xnnpack "
    "(TFLite's runtime with its default XNNPACK delegate)";

void add_kernels_option(CLI::App* cmd, std::string& kernels) {
  cmd->add_option("--kernels", kernels, "auto (the fastest kernels this CPU runs: x86-avx512-vnni, x86-avx512, x86-avx2), avx2 (no AVX-512 "
                  "kernels, to compare), avx512-emulated (the AVX-512 kernels' code on portable intrinsics, to check them "
                  "on any AVX2 CPU; slow) or reference (the plain loops that define the results)")
      ->capture_default_str();
}

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model on an input and write its output or chosen tensors as .npy");
  cmd->add_option("model", o->model, "Model file (.h5 or .onnx)")->required();
  cmd->add_option("--input", o->input, "float32 .npy in the model's layout (e.g. [N,3,32,32]) or a CIFAR-10 .bin batch")->required();
  cmd->add_option("--out", o->out, "Output .npy for the model output (or the one --tensor)");
  cmd->add_option("--tensor", o->tensors, "Tensor(s) to write instead of the output (names as in tinyq info)");
  cmd->add_option("--out-dir", o->out_dir, "Folder for several --tensor files (<name>.npy, '/' becomes '_')");
  cmd->add_option("--requant", o->requant, kRequantHelp)->capture_default_str();
  add_kernels_option(cmd, o->kernels);
  cmd->add_flag("--no-optimize", o->no_optimize, "Run the graph as is (no BatchNorm folding, fusion or QDQ fusion)");
  cmd->callback([o] {
    if (o->out.empty() == o->out_dir.empty()) throw Error("give exactly one of --out and --out-dir");
    ir::Graph graph = importers::load_model(o->model);
    if (!o->no_optimize) passes::optimize_for_inference(graph);
    const runtime::Executor executor(std::move(graph), op_options(o->requant, o->kernels, o->model));
    if (o->input.size() > 4 && o->input.substr(o->input.size() - 4) == ".bin" && !o->out_dir.empty() && !o->tensors.empty()) {
      // A whole CIFAR-10 batch: run it in batches on every core.
      eval::PredictOptions po;
      po.threads = std::max(1u, std::thread::hardware_concurrency());
      const auto all = eval::predict_tensors(executor, eval::read_cifar10({o->input}), po, o->tensors);
      std::filesystem::create_directories(o->out_dir);
      for (const auto& [name, t] : all) write_npy(std::filesystem::path(o->out_dir) / file_name_for(name), t);
      return;
    }
    const Tensor input = read_input(o->input);
    if (o->tensors.empty()) {
      if (o->out.empty()) throw Error("--out-dir needs --tensor");
      ensure_not_input(o->out, o->input);
      write_npy(o->out, executor.run({input}).at(0));
      return;
    }
    const auto taps = executor.run_with_taps({input}, o->tensors);
    if (!o->out.empty()) {
      if (o->tensors.size() != 1) throw Error("several --tensor values need --out-dir");
      ensure_not_input(o->out, o->input);
      write_npy(o->out, taps.at(o->tensors[0]));
      return;
    }
    std::filesystem::create_directories(o->out_dir);
    for (const auto& name : o->tensors) write_npy(std::filesystem::path(o->out_dir) / file_name_for(name), taps.at(name));
  });
}

}  // namespace tinyq::cli
