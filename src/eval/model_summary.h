#pragma once
// The layer table of `tinyq info`: per node its output shape, parameter count
// (constant f32 inputs, as Keras counts weights including BatchNorm's four
// vectors) and multiply-accumulates for one image.
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyq::eval {

struct NodeSummary {
  std::string name, op, origin;
  Shape output_shape;
  std::int64_t params = 0;
  std::int64_t macs = 0;
};

struct ModelSummary {
  std::vector<NodeSummary> nodes;
  std::int64_t total_params = 0, weight_params = 0, batchnorm_params = 0, total_macs = 0;
};

ModelSummary summarize(const ir::Graph& graph);

}  // namespace tinyq::eval
