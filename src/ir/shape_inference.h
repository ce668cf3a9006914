#pragma once
// Output types of every operator tinyq knows, from its input types and
// attributes. The same functions serve the static pass (with the symbolic
// batch kBatch) and the executor (with the concrete batch), so shapes have one
// definition only.
#include <vector>

#include "ir/graph.h"

namespace tinyq::ir {

struct TensorType {
  DType dtype = DType::f32;
  Shape shape;
  friend bool operator==(const TensorType&, const TensorType&) = default;
};

// Throws Error naming the node, the op and the offending input or attribute.
std::vector<TensorType> infer_node_types(const Graph& graph, const Node& node, const std::vector<TensorType>& inputs);

bool is_known_op(const Node& node);

// Recomputes the type of every node output, in node order.
void infer_shapes(Graph& graph);

// The explicit [begin..., end...] pads of a Conv/pool node (auto_pad must be NOTSET).
std::vector<std::int64_t> spatial_pads(const Node& node, std::size_t spatial_rank);

}  // namespace tinyq::ir
