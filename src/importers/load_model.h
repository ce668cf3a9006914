#pragma once
// Opens a model file by its extension: .h5 (Keras) or .onnx.
#include <filesystem>

#include "ir/graph.h"

namespace tinyq::importers {

ir::Graph load_model(const std::filesystem::path& path);

}  // namespace tinyq::importers
