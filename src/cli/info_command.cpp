// tinyq info: the layer table of a model with parameter and MAC totals.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/assets.h"
#include "eval/model_summary.h"
#include "importers/load_model.h"

namespace tinyq::cli {

void add_info_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("info", "Print the layer table (name, op, output shape, params, MACs) and totals");
  cmd->add_option("model", *model, "Model file (.h5 or .onnx; default: the ResNet8 in the assets folder)");
  cmd->callback([model] {
    const std::string path = model->empty() ? require_asset("models/pretrainedResnet.h5").string() : *model;
    std::printf("model   %s\n\n", path.c_str());
    const ir::Graph graph = importers::load_model(path);
    const auto summary = eval::summarize(graph);
    std::printf("%-34s %-20s %-16s %10s %12s\n", "node", "op", "output", "params", "MACs");
    for (const auto& row : summary.nodes)
      std::printf("%-34s %-20s %-16s %10s %12s\n", row.name.c_str(), row.op.c_str(),
                  shape_to_string(row.output_shape).c_str(), with_commas(row.params).c_str(),
                  with_commas(row.macs).c_str());
    std::printf("\ninputs:  ");
    for (auto id : graph.inputs()) std::printf("%s %s  ", graph.value(id).name.c_str(), shape_to_string(graph.value(id).shape).c_str());
    std::printf("\noutputs: ");
    for (auto id : graph.outputs()) std::printf("%s %s  ", graph.value(id).name.c_str(), shape_to_string(graph.value(id).shape).c_str());
    std::printf("\nparameters: %s (%s weights and biases + %s BatchNorm values)\n", with_commas(summary.total_params).c_str(),
                with_commas(summary.weight_params).c_str(), with_commas(summary.batchnorm_params).c_str());
    std::printf("MACs per image: %s\n", with_commas(summary.total_macs).c_str());
  });
}

}  // namespace tinyq::cli
