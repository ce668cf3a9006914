#pragma once
// The one graph IR of tinyq. Operators, attributes and layouts mean exactly
// what ONNX says they mean (NCHW, opset 13), so a float model and a quantized
// model are the same kind of graph and export is a plain translation.
//
// The graph owns flat vectors of values and nodes; everything refers to them
// by small strong ids. Nodes are kept in a topological order.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace tinyq::ir {

struct ValueId {
  std::uint32_t index = UINT32_MAX;
  bool valid() const { return index != UINT32_MAX; }
  friend bool operator==(ValueId, ValueId) = default;
  friend auto operator<=>(ValueId, ValueId) = default;
};
struct NodeId {
  std::uint32_t index = UINT32_MAX;
  bool valid() const { return index != UINT32_MAX; }
  friend bool operator==(NodeId, NodeId) = default;
};

// A tensor in the graph: a graph input, a node output, or an initializer
// (constant data such as weights).
struct Value {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;  // may contain kBatch
  std::optional<Tensor> initializer;
};

using Attribute = std::variant<std::int64_t, float, std::string, std::vector<std::int64_t>, std::vector<float>>;

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for the default ONNX domain, "com.microsoft" for ORT contrib ops
  std::vector<ValueId> inputs;  // an invalid id marks an omitted optional input
  std::vector<ValueId> outputs;
  std::map<std::string, Attribute> attributes;
  // Where the node came from (the Keras layer name), for error messages and reports.
  std::string origin;

  bool has_attr(const std::string& key) const { return attributes.count(key) != 0; }
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const std::string& key, std::vector<std::int64_t> fallback = {}) const;
  std::vector<float> attr_floats(const std::string& key, std::vector<float> fallback = {}) const;
};

class Graph {
 public:
  std::string name;

  ValueId add_value(std::string name, DType dtype, Shape shape);
  ValueId add_initializer(std::string name, Tensor data);
  ValueId add_input(std::string name, DType dtype, Shape shape);
  void mark_output(ValueId value) { outputs_.push_back(value); }
  NodeId add_node(Node node);

  const Value& value(ValueId id) const { return values_.at(id.index); }
  Value& value(ValueId id) { return values_.at(id.index); }
  const Node& node(NodeId id) const { return nodes_.at(id.index); }
  Node& node(NodeId id) { return nodes_.at(id.index); }
  const std::vector<Value>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  std::vector<ValueId>& outputs() { return outputs_; }

  std::optional<ValueId> find_value(const std::string& name) const;
  // A name not used by any value yet, derived from `base`.
  std::string unique_name(const std::string& base) const;
  bool is_initializer(ValueId id) const { return id.valid() && value(id).initializer.has_value(); }
  const Tensor& initializer(ValueId id) const;

  // Producer and consumers are derived from the node list on demand, so passes
  // that rewire edges never leave a stale index behind.
  std::optional<NodeId> producer(ValueId id) const;
  std::vector<NodeId> consumers(ValueId id) const;
  bool is_graph_output(ValueId id) const;

  // Deletes the marked nodes, then every value no node or graph edge uses;
  // renumbers ids. Used by passes after rewiring.
  void remove_nodes(const std::vector<NodeId>& doomed);
  // Replaces every use of `from` (node inputs and graph outputs) with `to`.
  void replace_uses(ValueId from, ValueId to);
  void rename_value(ValueId id, std::string new_name);
  void compact();

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::map<std::string, ValueId> by_name_;
};

// A node's input that must be a constant initializer; throws Error naming the
// node, the op and `what` otherwise.
const Tensor& constant_input(const Graph& graph, const Node& node, std::size_t index, const char* what);

// An optional scalar f32 constant input (Clip bounds, Pad's value): `fallback`
// when the input is omitted, nothing when it is present but not a constant scalar.
std::optional<float> constant_scalar(const Graph& graph, const Node& node, std::size_t index, float fallback);

}  // namespace tinyq::ir
