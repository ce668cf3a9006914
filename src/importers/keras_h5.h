#pragma once
// Keras 2.x HDF5 models (as written by TensorFlow 2.x model.save('x.h5')):
// reads `model_config` (Functional or Sequential) and `model_weights`, follows
// inbound_nodes, and translates each layer into ONNX-semantics IR.
#include <filesystem>

#include "ir/graph.h"

namespace tinyq::importers {

// The graph input is named "input" and the output "output" when there is one
// of each; other tensors are named after their Keras layers.
ir::Graph import_keras_h5(const std::filesystem::path& path);

// The same from a model_config JSON text kept apart from the file whose
// model_weights it uses (the config fuzzer feeds it mutated configs).
ir::Graph import_keras_config(const std::string& model_config, const std::filesystem::path& weights_h5);

}  // namespace tinyq::importers
