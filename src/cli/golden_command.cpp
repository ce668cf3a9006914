// tinyq golden: test vectors for a hardware testbench, per quantized layer.
#include <cstdio>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "core/assets.h"
#include "core/error.h"
#include "eval/cifar10.h"
#include "inspect/golden.h"

namespace tinyq::cli {

void add_golden_command(CLI::App& app) {
  struct Options {
    std::string model, out, data, requant = "auto", kernels = "auto";
    std::int64_t image = 0, count = 1;
    std::vector<std::string> formats{"npy", "hex", "c"};
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("golden", "Golden vectors (.npy, $readmemh hex, C header) per quantized layer for test images");
  cmd->add_option("model", o->model, "Quantized model (.onnx, QDQ or QOperator)")->required();
  cmd->add_option("--image", o->image, "Index of the first test image")->required();
  cmd->add_option("--count", o->count, "Number of images")->capture_default_str();
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->add_option("--requant", o->requant, kRequantHelp)->capture_default_str();
  cmd->add_option("--format", o->formats, "npy, hex, c")->delimiter(',')->capture_default_str();
  cmd->add_option("--data", o->data, "Folder with test_batch.bin (default: assets)");
  add_kernels_option(cmd, o->kernels);
  cmd->callback([o] {
    for (const auto& f : o->formats)
      if (f != "npy" && f != "hex" && f != "c") throw Error("--format '" + f + "': expected npy, hex or c");
    const std::filesystem::path data = o->data.empty() ? assets_root() / "data/cifar-10-batches-bin" : std::filesystem::path(o->data);
    const auto all = eval::read_cifar10({data / "test_batch.bin"});
    if (o->count < 1) throw Error("--count must be at least 1");
    std::vector<std::int64_t> indices;
    for (std::int64_t i = 0; i < o->count; ++i) indices.push_back(o->image + i);
    const auto images = eval::select_images(all, indices);
    inspect::GoldenOptions go;
    const runtime::OpOptions run_options = op_options(o->requant, o->kernels, o->model);
    go.requant = run_options.requant;
    go.kernels = run_options.kernels;
    go.formats = std::set<std::string>(o->formats.begin(), o->formats.end());
    go.image_indices = indices;
    for (auto l : images.labels) go.labels.push_back(l);
    const int layers = inspect::write_golden_vectors(load_as_run(o->model), eval::image_batch_f32(images, 0, images.size()), o->out, go);
    std::printf("wrote %d layers of golden vectors for %zu image(s) to %s (manifest.json lists every file)\n", layers, images.size(),
                o->out.c_str());
  });
}

}  // namespace tinyq::cli
