#include "ir/verifier.h"

#include <set>

#include "core/error.h"
#include "ir/shape_inference.h"

namespace tinyq::ir {

void sort_topologically(Graph& graph) {
  const auto& nodes = graph.nodes();
  std::vector<int> producer(graph.values().size(), -1);
  for (std::size_t n = 0; n < nodes.size(); ++n)
    for (ValueId out : nodes[n].outputs) {
      if (producer[out.index] >= 0)
        throw Error("graph '" + graph.name + "': tensor '" + graph.value(out).name + "' is produced by both '" +
                    nodes[producer[out.index]].name + "' and '" + nodes[n].name + "'");
      producer[out.index] = static_cast<int>(n);
    }
  // Depth-first ordering with an explicit colour per node: grey on the stack
  // means a back edge, which is a cycle.
  enum Colour { white, grey, black };
  std::vector<Colour> colour(nodes.size(), white);
  std::vector<Node> ordered;
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // node, next input to visit
  for (std::size_t root = 0; root < nodes.size(); ++root) {
    if (colour[root] != white) continue;
    stack.push_back({root, 0});
    colour[root] = grey;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next < nodes[n].inputs.size()) {
        ValueId in = nodes[n].inputs[next++];
        if (!in.valid() || producer[in.index] < 0) continue;
        const auto p = static_cast<std::size_t>(producer[in.index]);
        if (colour[p] == grey) {
          std::string cycle;
          for (const auto& frame : stack) cycle += "'" + nodes[frame.first].name + "' -> ";
          throw Error("graph '" + graph.name + "': cycle through nodes " + cycle + "'" + nodes[p].name + "'");
        }
        if (colour[p] == white) {
          colour[p] = grey;
          stack.push_back({p, 0});
        }
      } else {
        colour[n] = black;
        ordered.push_back(nodes[n]);
        stack.pop_back();
      }
    }
  }
  graph.nodes() = std::move(ordered);
}

void verify(const Graph& graph) {
  std::set<std::uint32_t> defined;
  for (ValueId id : graph.inputs()) defined.insert(id.index);
  for (std::uint32_t v = 0; v < graph.values().size(); ++v)
    if (graph.values()[v].initializer) defined.insert(v);

  for (const Node& node : graph.nodes()) {
    const std::string where = "graph '" + graph.name + "', node '" + node.name + "' (" + node.op_type + ")";
    if (!is_known_op(node)) throw Error(where + ": operator is not supported by tinyq");
    std::vector<TensorType> in;
    for (ValueId id : node.inputs) {
      if (!id.valid()) continue;
      if (id.index >= graph.values().size()) throw Error(where + ": input id out of range");
      if (!defined.count(id.index))
        throw Error(where + ": input '" + graph.value(id).name +
                    "' is not a graph input, an initializer or the output of an earlier node (dangling or cyclic)");
      in.push_back({graph.value(id).dtype, graph.value(id).shape});
    }
    const auto expected = infer_node_types(graph, node, in);
    if (expected.size() != node.outputs.size())
      throw Error(where + ": has " + std::to_string(node.outputs.size()) + " outputs, expected " +
                  std::to_string(expected.size()));
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const Value& out = graph.value(node.outputs[i]);
      if (defined.count(node.outputs[i].index))
        throw Error(where + ": output '" + out.name + "' is defined twice");
      if (out.dtype != expected[i].dtype || out.shape != expected[i].shape)
        throw Error(where + ": output '" + out.name + "' is declared " + std::string(dtype_name(out.dtype)) +
                    shape_to_string(out.shape) + " but computes to " + std::string(dtype_name(expected[i].dtype)) +
                    shape_to_string(expected[i].shape));
      defined.insert(node.outputs[i].index);
    }
  }
  for (ValueId id : graph.outputs())
    if (!defined.count(id.index)) throw Error("graph '" + graph.name + "': output '" + graph.value(id).name + "' is never computed");
}

}  // namespace tinyq::ir
