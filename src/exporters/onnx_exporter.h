#pragma once
// Writes an ir::Graph as an ONNX model through the ONNX protobuf library:
// IR version 8, opset 13 (plus com.microsoft 1 when contrib ops are present),
// the symbolic batch as dim_param "N", tensor and node names as in the IR.
#include <filesystem>

#include "ir/graph.h"

namespace onnx {
class ModelProto;
}

namespace tinyq::exporters {

struct OnnxExportOptions {
  // Adds one leading Transpose so that users feed Keras-layout [N,H,W,C] data.
  bool nhwc_input = false;
};

onnx::ModelProto to_onnx_model(const ir::Graph& graph, const OnnxExportOptions& options = {});
void write_onnx(const ir::Graph& graph, const std::filesystem::path& path, const OnnxExportOptions& options = {});

}  // namespace tinyq::exporters
