// tinyq convert: a model to ONNX, TorchScript and an eager PyTorch module.
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "exporters/onnx_exporter.h"
#include "exporters/pytorch_source.h"
#include "importers/load_model.h"
#include "ir/verifier.h"
#include "passes/fold_batchnorm.h"
#include "passes/qoperator_to_qdq.h"
#include "exporters/torch_archive.h"

namespace tinyq::cli {
namespace {

struct ConvertOptions {
  std::string model, out_dir, input_layout = "nchw";
  std::vector<std::string> formats{"onnx", "torchscript", "pytorch"};
  bool fold_bn = false;
};

void report(const std::filesystem::path& path, const std::string& what) {
  std::printf("wrote %-48s %10s bytes  %s\n", path.string().c_str(), with_commas(static_cast<std::int64_t>(std::filesystem::file_size(path))).c_str(),
              what.c_str());
}

void run_convert(const ConvertOptions& o) {
  namespace fs = std::filesystem;
  const std::set<std::string> known{"onnx", "torchscript", "pytorch"};
  for (const auto& f : o.formats)
    if (!known.count(f)) throw Error("--to '" + f + "': expected onnx, torchscript or pytorch");
  if (o.input_layout != "nchw" && o.input_layout != "nhwc")
    throw Error("--input-layout '" + o.input_layout + "': expected nchw or nhwc");

  ir::Graph graph = importers::load_model(o.model);
  // An integer TFLite model leaves as ONNX QDQ with the file's own scales.
  const bool tflite_int8 = fs::path(o.model).extension() == ".tflite" && passes::qoperator_to_qdq(graph) > 0;
  if (o.fold_bn) {
    passes::fold_batchnorm(graph);
    ir::verify(graph);
  }
  const std::string stem = fs::path(o.model).stem().string();
  const fs::path dir = o.out_dir;
  fs::create_directories(dir);
  auto target = [&](const std::string& name) {
    const fs::path path = dir / name;
    ensure_not_input(path, o.model);
    return path;
  };
  auto wants = [&](const char* f) { return std::find(o.formats.begin(), o.formats.end(), f) != o.formats.end(); };

  if (wants("onnx")) {
    exporters::OnnxExportOptions options;
    options.nhwc_input = o.input_layout == "nhwc";
    const auto path = target(stem + ".onnx");
    exporters::write_onnx(graph, path, options);
    report(path, std::string("ONNX opset 13, input ") + (options.nhwc_input ? "NHWC" : "NCHW") +
                     (tflite_int8 ? ", QDQ with the TFLite file's scales"
                                  : (o.fold_bn ? ", BatchNorm folded" : ", BatchNorm kept")));
    if (tflite_int8)
      std::printf("note: ONNX Runtime runs this file with its own integer rounding, not TFLite's: its outputs differ "
                  "from TFLite's runtime by a few steps on some values (measured in docs/tflite.md)\n");
  }
  if (wants("pytorch")) {
    const auto eager = exporters::to_eager_module(graph, exporters::python_class_name(stem));
    const auto source_path = target(stem + ".py");
    write_file_atomically(source_path, eager.source);
    report(source_path, "PyTorch nn.Module source (class " + eager.class_name + ")");
    const auto weights = target(stem + "_state_dict.pt");
    exporters::write_state_dict(eager.state_dict, weights);
    report(weights, "its state_dict (" + std::to_string(eager.state_dict.size()) + " tensors, torch.load)");
  }
  if (wants("torchscript")) {
    const auto path = target(stem + ".torchscript.pt");
    exporters::write_torchscript(graph, path);
    report(path, "TorchScript archive (torch.jit.load)");
  }
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand("convert", "Write a model as ONNX, TorchScript and a PyTorch nn.Module with its state_dict");
  cmd->add_option("model", o->model, "Model file (.h5 or .onnx)")->required();
  cmd->add_option("--out", o->out_dir, "Output folder (created if missing)")->required();
  cmd->add_option("--to", o->formats, "Comma-separated: onnx, torchscript, pytorch")->delimiter(',')->capture_default_str();
  cmd->add_flag("--fold-bn", o->fold_bn, "Fold BatchNormalization into the preceding Conv/Gemm");
  cmd->add_option("--input-layout", o->input_layout, "nchw, or nhwc to add one leading Transpose (ONNX only)")->capture_default_str();
  cmd->callback([o] { run_convert(*o); });
}

}  // namespace tinyq::cli
