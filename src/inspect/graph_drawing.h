#pragma once
// Netron-like pictures of a graph through Graphviz: one box per op with its
// output shape and type, constants folded into their node's label, quantized
// ops coloured, residual blocks grouped in clusters.
#include <string>

#include "ir/graph.h"

namespace tinyq::inspect {

enum class Detail { low, high };

std::string graph_to_dot(const ir::Graph& graph, Detail detail);

// Lays out with libgvc's "dot" engine and renders to "svg", "png" or "dot".
std::string render_graph(const std::string& dot, const std::string& format);

}  // namespace tinyq::inspect
