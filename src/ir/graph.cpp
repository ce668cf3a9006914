#include "ir/graph.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace tinyq::ir {
namespace {

template <typename T>
const T* find_attr(const Node& node, const std::string& key) {
  auto it = node.attributes.find(key);
  if (it == node.attributes.end()) return nullptr;
  if (const T* v = std::get_if<T>(&it->second)) return v;
  throw Error("node '" + node.name + "' (" + node.op_type + "): attribute '" + key + "' has the wrong type");
}

}  // namespace

std::int64_t Node::attr_int(const std::string& key, std::int64_t fallback) const {
  const auto* v = find_attr<std::int64_t>(*this, key);
  return v ? *v : fallback;
}
float Node::attr_float(const std::string& key, float fallback) const {
  const auto* v = find_attr<float>(*this, key);
  return v ? *v : fallback;
}
std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  const auto* v = find_attr<std::string>(*this, key);
  return v ? *v : fallback;
}
std::vector<std::int64_t> Node::attr_ints(const std::string& key, std::vector<std::int64_t> fallback) const {
  const auto* v = find_attr<std::vector<std::int64_t>>(*this, key);
  return v ? *v : fallback;
}
std::vector<float> Node::attr_floats(const std::string& key, std::vector<float> fallback) const {
  const auto* v = find_attr<std::vector<float>>(*this, key);
  return v ? *v : fallback;
}

ValueId Graph::add_value(std::string name, DType dtype, Shape shape) {
  if (by_name_.count(name)) throw Error("graph '" + this->name + "': duplicate tensor name '" + name + "'");
  ValueId id{static_cast<std::uint32_t>(values_.size())};
  by_name_[name] = id;
  values_.push_back(Value{std::move(name), dtype, std::move(shape), std::nullopt});
  return id;
}

ValueId Graph::add_initializer(std::string name, Tensor data) {
  ValueId id = add_value(std::move(name), data.dtype(), data.shape());
  values_[id.index].initializer = std::move(data);
  return id;
}

ValueId Graph::add_input(std::string name, DType dtype, Shape shape) {
  ValueId id = add_value(std::move(name), dtype, std::move(shape));
  inputs_.push_back(id);
  return id;
}

NodeId Graph::add_node(Node node) {
  nodes_.push_back(std::move(node));
  return NodeId{static_cast<std::uint32_t>(nodes_.size() - 1)};
}

std::optional<ValueId> Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::string Graph::unique_name(const std::string& base) const {
  if (!by_name_.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string candidate = base + "_" + std::to_string(i);
    if (!by_name_.count(candidate)) return candidate;
  }
}

const Tensor& Graph::initializer(ValueId id) const {
  const Value& v = value(id);
  if (!v.initializer) throw Error("tensor '" + v.name + "' is not a constant initializer");
  return *v.initializer;
}

std::optional<NodeId> Graph::producer(ValueId id) const {
  for (std::uint32_t n = 0; n < nodes_.size(); ++n)
    for (ValueId out : nodes_[n].outputs)
      if (out == id) return NodeId{n};
  return std::nullopt;
}

std::vector<NodeId> Graph::consumers(ValueId id) const {
  std::vector<NodeId> result;
  for (std::uint32_t n = 0; n < nodes_.size(); ++n)
    if (std::find(nodes_[n].inputs.begin(), nodes_[n].inputs.end(), id) != nodes_[n].inputs.end())
      result.push_back(NodeId{n});
  return result;
}

bool Graph::is_graph_output(ValueId id) const {
  return std::find(outputs_.begin(), outputs_.end(), id) != outputs_.end();
}

void Graph::replace_uses(ValueId from, ValueId to) {
  for (Node& node : nodes_)
    for (ValueId& in : node.inputs)
      if (in == from) in = to;
  for (ValueId& out : outputs_)
    if (out == from) out = to;
}

void Graph::rename_value(ValueId id, std::string new_name) {
  if (value(id).name == new_name) return;
  if (by_name_.count(new_name)) throw Error("graph '" + name + "': duplicate tensor name '" + new_name + "'");
  by_name_.erase(value(id).name);
  by_name_[new_name] = id;
  value(id).name = std::move(new_name);
}

void Graph::remove_nodes(const std::vector<NodeId>& doomed) {
  std::set<std::uint32_t> gone;
  for (NodeId id : doomed) gone.insert(id.index);
  std::vector<Node> kept;
  for (std::uint32_t n = 0; n < nodes_.size(); ++n)
    if (!gone.count(n)) kept.push_back(std::move(nodes_[n]));
  nodes_ = std::move(kept);
  compact();
}

void Graph::compact() {
  std::vector<bool> used(values_.size(), false);
  for (ValueId id : inputs_) used[id.index] = true;
  for (ValueId id : outputs_) used[id.index] = true;
  for (const Node& node : nodes_) {
    for (ValueId id : node.inputs)
      if (id.valid()) used[id.index] = true;
    for (ValueId id : node.outputs) used[id.index] = true;
  }
  std::vector<ValueId> remap(values_.size());
  std::vector<Value> kept;
  by_name_.clear();
  for (std::uint32_t v = 0; v < values_.size(); ++v) {
    if (!used[v]) continue;
    remap[v] = ValueId{static_cast<std::uint32_t>(kept.size())};
    by_name_[values_[v].name] = remap[v];
    kept.push_back(std::move(values_[v]));
  }
  values_ = std::move(kept);
  auto fix = [&](ValueId& id) {
    if (id.valid()) id = remap[id.index];
  };
  for (ValueId& id : inputs_) fix(id);
  for (ValueId& id : outputs_) fix(id);
  for (Node& node : nodes_) {
    for (ValueId& id : node.inputs) fix(id);
    for (ValueId& id : node.outputs) fix(id);
  }
}

const Tensor& constant_input(const Graph& graph, const Node& node, std::size_t index, const char* what) {
  if (index >= node.inputs.size() || !graph.is_initializer(node.inputs[index]))
    throw Error("node '" + node.name + "' (" + node.op_type + "): " + what + " must be a constant initializer");
  return graph.initializer(node.inputs[index]);
}

std::optional<float> constant_scalar(const Graph& graph, const Node& node, std::size_t index, float fallback) {
  if (index >= node.inputs.size() || !node.inputs[index].valid()) return fallback;
  if (!graph.is_initializer(node.inputs[index])) return std::nullopt;
  const Tensor& t = graph.initializer(node.inputs[index]);
  if (t.dtype() != DType::f32 || t.element_count() != 1) return std::nullopt;
  return t.data<float>()[0];
}

}  // namespace tinyq::ir
