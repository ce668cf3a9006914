#pragma once
// Structural checks that every graph passes before it runs or is written:
// each input is defined (graph input, initializer or earlier node output),
// each value has one producer, there is no cycle, every op is known, and the
// stored shapes and element types agree with shape inference.
#include "ir/graph.h"

namespace tinyq::ir {

// Throws Error naming the node and tensor at fault.
void verify(const Graph& graph);

// Reorders nodes topologically; throws Error naming the nodes of a cycle.
void sort_topologically(Graph& graph);

}  // namespace tinyq::ir
