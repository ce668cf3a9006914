#pragma once
// TensorFlow Lite flatbuffers (.tflite, as TFLite's converter writes them)
// into the IR: the file is checked by the FlatBuffers verifier before any
// field is read, NHWC tensors become NCHW exactly as the Keras importer
// makes them, and fused activations become their own nodes.
#include <filesystem>

#include "ir/graph.h"

namespace tinyq::importers {

// Throws Error naming the file, and the operator and option at fault.
ir::Graph import_tflite(const std::filesystem::path& path);

}  // namespace tinyq::importers
