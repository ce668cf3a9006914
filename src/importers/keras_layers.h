#pragma once
// Translation of one Keras layer call into ONNX-semantics IR nodes.
//
// Keras tensors are NHWC; rank-4 IR values are NCHW, every other rank keeps
// Keras' order. One subtlety: Keras' Flatten of an NHWC tensor orders elements
// (h, w, c), ONNX's Flatten of NCHW orders them (c, h, w). Rather than insert
// a layout Transpose, a flattened value remembers its (C, H, W); a Dense that
// reads it permutes its weight rows instead, element-wise layers pass the mark
// on, and anything else (or a graph output) first restores Keras' order.
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tinyq::importers {

struct KerasTensor {
  ir::ValueId value;
  std::optional<std::array<std::int64_t, 3>> flattened_chw;  // set: holds (c,h,w)-ordered features
};

// Looks up a layer's weights by their Keras name ("kernel", "bias", "gamma", ...).
using WeightLookup = std::function<Tensor(const std::string& layer, const std::string& weight, const Shape& expected)>;

class LayerCall {
 public:
  LayerCall(ir::Graph& graph, const nlohmann::json& layer, int call_index, std::vector<KerasTensor> inputs,
            const WeightLookup& weights);

  const std::string& layer_name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  const std::vector<KerasTensor>& inputs() const { return inputs_; }
  const nlohmann::json& config() const { return config_; }

  [[noreturn]] void fail(const std::string& what) const;

  // Config access with the layer named in every error. Each reads what Keras
  // itself accepts for the key: the overloads with a fallback give Keras'
  // default for a missing (or null) key; booleans may be written as 0/1, as
  // some Keras 2.x versions do; an int may be a one-element list.
  bool has_option(const std::string& key) const;
  std::int64_t option_int(const std::string& key) const;
  std::int64_t option_int(const std::string& key, std::int64_t fallback) const;
  double option_number(const std::string& key) const;
  double option_number(const std::string& key, double fallback) const;
  std::string option_string(const std::string& key) const;
  std::string option_string(const std::string& key, const std::string& fallback) const;
  bool option_bool(const std::string& key, bool fallback) const;
  // An int or a list of `n` ints (Keras accepts both for sizes and strides).
  std::vector<std::int64_t> option_ints(const std::string& key, std::size_t n) const;
  std::vector<std::int64_t> option_ints(const std::string& key, std::size_t n, std::int64_t fallback) const;
  // 'same'/'valid' in any case (Keras lowercases padding), default 'valid'.
  std::string option_padding() const;
  // An activation name: a string, null (linear), or Keras' newer
  // {"class_name": ..., "config": "relu"} form.
  std::string option_activation(const std::string& key) const;

  // The input as a single IR value with its shape; `rank` checks the Keras rank.
  const KerasTensor& input(std::size_t i = 0) const;
  Shape input_shape(std::size_t i = 0) const;  // a copy: adding nodes may move graph storage
  // Undoes the Flatten mark (see above) with Reshape + Transpose + Flatten.
  KerasTensor materialized(const KerasTensor& t);

  Tensor weight(const std::string& name, const Shape& expected) const;
  ir::ValueId add_constant(const std::string& suffix, Tensor data);
  // Adds a node; `suffix` empty names its output after the layer (the layer's
  // final output), otherwise "<layer>/<suffix>". Returns the output value.
  ir::ValueId add_node(const std::string& op_type, std::vector<ir::ValueId> inputs,
                       std::map<std::string, ir::Attribute> attributes, const std::string& suffix);
  // Applies a Keras activation by name as the layer's final output.
  ir::ValueId apply_activation(ir::ValueId x, const std::string& activation, bool is_final);

 private:
  ir::Graph& graph_;
  const nlohmann::json& layer_;
  const nlohmann::json& config_;
  std::string name_, class_name_, output_name_;
  std::vector<KerasTensor> inputs_;
  const WeightLookup& weights_;
};

// Translates one layer call; returns its outputs. Throws Error naming the
// layer, its class and the unsupported option.
using LayerTranslator = std::vector<KerasTensor> (*)(LayerCall& call);
LayerTranslator find_layer_translator(const LayerCall& call);

// Adds a node with one output named `name`, typed by shape inference.
ir::ValueId add_typed_node(ir::Graph& graph, const std::string& op_type, const std::string& name,
                           std::vector<ir::ValueId> inputs, std::map<std::string, ir::Attribute> attributes,
                           const std::string& origin, const std::string& domain = "");

// Puts a flattened value back into Keras' (h, w, c) feature order with
// Reshape + Transpose + Flatten, naming the new tensors "<prefix>/...".
KerasTensor restore_keras_order(ir::Graph& graph, const KerasTensor& t, const std::string& prefix);

// The InputLayer (or a Sequential model's first batch_input_shape) as a graph input.
KerasTensor add_keras_input(ir::Graph& graph, const std::string& layer_name, const nlohmann::json& batch_input_shape,
                            const std::string& value_name);

// TensorFlow's padding rule: ('same' pads total = max((out-1)*s + eff_k - in, 0),
// before = total / 2, the extra one after), or 0 for 'valid'. Returns {before, after}.
std::array<std::int64_t, 2> tensorflow_padding(const std::string& padding, std::int64_t in, std::int64_t kernel,
                                               std::int64_t stride, std::int64_t dilation);

}  // namespace tinyq::importers
