#pragma once
// Reads .onnx files whose operators tinyq knows (its own exports, and float
// or quantized graphs from other tools within that set) into the IR.
#include <filesystem>

#include "ir/graph.h"

namespace tinyq::importers {

// Throws Error naming the file, and the node and op when one is at fault.
ir::Graph import_onnx(const std::filesystem::path& path);

}  // namespace tinyq::importers
