// tinyq ops: the quantized-operations reference of a model (table and JSON).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "importers/load_model.h"
#include "inspect/operations.h"
#include "passes/fuse_qdq.h"

namespace tinyq::cli {

ir::Graph load_as_run(const std::string& model) {
  ir::Graph graph = importers::load_model(model);
  passes::fuse_qdq(graph);  // QDQ files are shown as ONNX Runtime runs them
  return graph;
}

void add_ops_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto json_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("ops", "Every operation with its scales, zero points, multipliers and accumulator bounds");
  cmd->add_option("model", *model, "Model (.onnx, quantized or float; .h5 too)")->required();
  cmd->add_option("--json", *json_path, "Also write the full reference as JSON (schema: docs/operations-reference.md)");
  cmd->callback([model, json_path] {
    const auto ops = inspect::describe_operations(load_as_run(*model));
    std::fputs(inspect::operations_table(ops).c_str(), stdout);
    if (!json_path->empty()) {
      ensure_not_input(*json_path, *model);
      write_file_atomically(*json_path, ops.dump(2) + "\n");
    }
  });
}

}  // namespace tinyq::cli
