// tinyq doc: QUANTIZATION_OPERATIONS.md (and its graph picture) for a model.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "inspect/graph_drawing.h"
#include "inspect/operations.h"
#include "inspect/operations_doc.h"

namespace tinyq::cli {

void add_doc_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("doc", "Write QUANTIZATION_OPERATIONS.md: equations, parameters, graph, pseudocode");
  cmd->add_option("model", *model, "Quantized model (.onnx)")->required();
  cmd->add_option("--out", *out, "Output folder")->required();
  cmd->callback([model, out] {
    const ir::Graph graph = load_as_run(*model);
    std::filesystem::create_directories(*out);
    const auto dir = std::filesystem::path(*out);
    write_file_atomically(dir / "graph.svg", inspect::render_graph(inspect::graph_to_dot(graph, inspect::Detail::low), "svg"));
    write_file_atomically(dir / "QUANTIZATION_OPERATIONS.md",
                          inspect::quantization_operations_markdown(inspect::describe_operations(graph), "graph.svg"));
    std::printf("wrote %s and %s\n", (dir / "QUANTIZATION_OPERATIONS.md").c_str(), (dir / "graph.svg").c_str());
  });
}

}  // namespace tinyq::cli
