#include "importers/keras_h5.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "importers/hdf5_sandbox.h"
#include "importers/keras_layers.h"
#include "ir/verifier.h"

namespace tinyq::importers {
namespace {

using json = nlohmann::json;

// A reference to one output of one call of a layer: [layer, call, tensor].
struct TensorRef {
  std::string layer;
  int call = 0;
  int tensor = 0;
  auto operator<=>(const TensorRef&) const = default;
};

// Keras 2 writes an input's shape as batch_input_shape, Keras 3 as batch_shape.
const json& input_shape_of(const json& input_config) {
  if (input_config.contains("batch_input_shape")) return input_config.at("batch_input_shape");
  if (input_config.contains("batch_shape")) return input_config.at("batch_shape");
  throw Error("model_config: InputLayer '" + input_config.value("name", std::string("?")) + "' has no batch_input_shape");
}

struct LayerCallSpec {
  const json* layer = nullptr;
  int call = 0;
  std::vector<TensorRef> inputs;
};

class KerasModelReader {
 public:
  explicit KerasModelReader(const std::filesystem::path& path) : file_(path) {}

  // `config_text` replaces the file's own model_config when given.
  ir::Graph read(const std::string* config_text = nullptr) {
    const std::string file = file_.name();
    if (!config_text && !file_.has_attribute("/", "model_config"))
      throw Error(file + ": no 'model_config' attribute (weights-only file? save the whole model with model.save)");
    try {
      model_ = json::parse(config_text ? *config_text : file_.string_attribute("/", "model_config"));
    } catch (const json::exception& e) {
      throw Error(file + ": model_config is not valid JSON: " + e.what());
    }
    if (!file_.exists("/model_weights")) throw Error(file + ": missing group 'model_weights'");
    if (!model_.is_object() || !(model_.value("config", json::object()).is_object() || model_["config"].is_array()))
      throw Error(file + ": model_config must be a JSON object whose 'config' is an object (or a Sequential layer list)");
    try {
      graph_.name = model_["config"].is_object()
                        ? model_["config"].value("name", std::filesystem::path(file).stem().string())
                        : std::filesystem::path(file).stem().string();
      const std::string cls = model_.value("class_name", "");
      if (cls == "Functional" || cls == "Model") read_functional();
      else if (cls == "Sequential") read_sequential();
      else throw Error("model class '" + cls + "' is not supported (Functional or Sequential)");
    } catch (const json::exception& e) {
      throw Error(file + ": model_config is malformed: " + e.what());
    } catch (const Error& e) {
      const std::string what = e.what();
      throw Error(what.rfind(file, 0) == 0 ? what : file + ": " + what);
    }
    ir::verify(graph_);
    return std::move(graph_);
  }

 private:
  Tensor weight(const std::string& layer, const std::string& name, const Shape& expected) {
    const std::string group = "/model_weights/" + layer;
    const std::string where = "layer '" + layer + "': weight '" + name + "'";
    if (!file_.exists(group)) throw Error(where + ": missing weight group " + group);
    for (const std::string& full : file_.string_list_attribute(group, "weight_names")) {
      // Names look like "conv2d/kernel:0"; match on the last component.
      const std::string leaf = full.substr(full.rfind('/') + 1);
      if (leaf != name + ":0") continue;
      const std::string path = group + "/" + full;
      if (!file_.exists(path)) throw Error(where + ": missing weight dataset " + path);
      const Shape actual = file_.dataset_shape(path);
      if (actual != expected)
        throw Error(where + " has shape " + shape_to_string(actual) + ", expected " + shape_to_string(expected));
      return file_.read_f32(path, static_cast<std::size_t>(element_count(expected)));
    }
    throw Error(where + ": missing weight dataset (not listed in " + group + " weight_names)");
  }

  static TensorRef parse_ref(const json& entry, const std::string& layer) {
    if (!entry.is_array() || entry.size() < 3 || !entry[0].is_string())
      throw Error("layer '" + layer + "': inbound_nodes entry " + entry.dump() +
                  " is not [layer, node_index, tensor_index, ...] (Keras 2 format)");
    TensorRef ref{entry[0].get<std::string>(), entry[1].get<int>(), entry[2].get<int>()};
    if (ref.tensor != 0) throw Error("layer '" + layer + "': multi-output layer references are not supported");
    return ref;
  }

  void read_functional() {
    const json& config = model_.at("config");
    for (const json& layer : config.at("layers")) {
      const std::string name = layer.at("name").get<std::string>();
      if (layers_.count(name)) throw Error("model_config: duplicate layer name '" + name + "'");
      layers_[name] = &layer;
      const json& inbound = layer.at("inbound_nodes");
      if (inbound.empty()) {
        calls_[{name, 0, 0}] = LayerCallSpec{&layer, 0, {}};
        continue;
      }
      for (std::size_t k = 0; k < inbound.size(); ++k) {
        LayerCallSpec spec{&layer, static_cast<int>(k), {}};
        if (!inbound[k].is_array()) throw Error("layer '" + name + "': inbound_nodes must be lists (Keras 2 format)");
        for (const json& entry : inbound[k]) spec.inputs.push_back(parse_ref(entry, name));
        calls_[{name, static_cast<int>(k), 0}] = std::move(spec);
      }
    }
    const json& inputs = config.at("input_layers");
    const bool single_input = inputs.size() == 1;
    for (const json& in : inputs) {
      const TensorRef ref = parse_ref(in, "input_layers");
      auto it = layers_.find(ref.layer);
      if (it == layers_.end() || it->second->at("class_name") != "InputLayer")
        throw Error("model_config: input_layers names '" + ref.layer + "', which is not an InputLayer");
      const json& cfg = it->second->at("config");
      tensors_[ref] = add_keras_input(graph_, ref.layer, input_shape_of(cfg), single_input ? "input" : ref.layer);
    }
    std::vector<KerasTensor> outputs;
    for (const json& out : config.at("output_layers")) outputs.push_back(resolve(parse_ref(out, "output_layers")));
    mark_outputs(outputs);
  }

  void read_sequential() {
    const json& config = model_.at("config");
    const json& layers = config.is_array() ? config : config.at("layers");  // very old files store a bare list
    if (layers.empty()) throw Error("model_config: Sequential model has no layers");
    std::size_t first = 0;
    KerasTensor x;
    const json& head = layers[0];
    if (head.at("class_name") == "InputLayer") {
      x = add_keras_input(graph_, head.at("config").value("name", "input"), input_shape_of(head.at("config")), "input");
      first = 1;
    } else {
      if (!head.at("config").contains("batch_input_shape"))
        throw Error("model_config: the first layer of the Sequential model has no batch_input_shape");
      x = add_keras_input(graph_, "input", input_shape_of(head.at("config")), "input");
    }
    for (std::size_t i = first; i < layers.size(); ++i) {
      json layer = layers[i];
      if (!layer.contains("name")) layer["name"] = layer.at("config").at("name");
      x = translate(layer, 0, {x});
    }
    mark_outputs({x});
  }

  // Returns the IR tensor for a reference, translating its layer call first
  // (depth-first along inbound_nodes; a reference back into the call chain
  // being resolved is a cycle).
  KerasTensor resolve(const TensorRef& ref) {
    if (auto it = tensors_.find(ref); it != tensors_.end()) return it->second;
    auto call_it = calls_.find(ref);
    if (call_it == calls_.end()) {
      if (!layers_.count(ref.layer)) throw Error("model_config: inbound_nodes reference unknown layer '" + ref.layer + "'");
      throw Error("model_config: layer '" + ref.layer + "' has no call #" + std::to_string(ref.call));
    }
    if (in_progress_.count(ref)) {
      std::string chain;
      for (const auto& r : stack_) chain += r.layer + " -> ";
      throw Error("model_config: cyclic inbound_nodes: " + chain + ref.layer);
    }
    const LayerCallSpec& spec = call_it->second;
    if (spec.layer->at("class_name") == "InputLayer")
      throw Error("model_config: InputLayer '" + ref.layer + "' is not listed in input_layers");
    if (spec.inputs.empty()) throw Error("layer '" + ref.layer + "' has no inbound nodes");
    in_progress_.insert(ref);
    stack_.push_back(ref);
    std::vector<KerasTensor> inputs;
    for (const TensorRef& in : spec.inputs) inputs.push_back(resolve(in));
    stack_.pop_back();
    in_progress_.erase(ref);
    KerasTensor out = translate(*spec.layer, spec.call, std::move(inputs));
    tensors_[ref] = out;
    return out;
  }

  KerasTensor translate(const json& layer, int call, std::vector<KerasTensor> inputs) {
    WeightLookup lookup = [this](const std::string& l, const std::string& w, const Shape& s) { return weight(l, w, s); };
    LayerCall layer_call(graph_, layer, call, std::move(inputs), lookup);
    auto outputs = find_layer_translator(layer_call)(layer_call);
    return outputs.at(0);
  }

  void mark_outputs(const std::vector<KerasTensor>& outputs) {
    for (const KerasTensor& out : outputs) {
      // A graph output must be in Keras' own feature order.
      KerasTensor t = restore_keras_order(graph_, out, graph_.value(out.value).name);
      // An output that is a graph input or repeated gets its own Identity.
      if (graph_.is_graph_output(t.value) || !graph_.producer(t.value)) {
        t.value = add_typed_node(graph_, "Identity", graph_.value(t.value).name + "_output", {t.value}, {}, "");
      }
      graph_.mark_output(t.value);
    }
    if (outputs.size() == 1) graph_.rename_value(graph_.outputs()[0], "output");
  }

  SandboxedHdf5File file_;
  json model_;
  ir::Graph graph_;
  std::map<std::string, const json*> layers_;
  std::map<TensorRef, LayerCallSpec> calls_;
  std::map<TensorRef, KerasTensor> tensors_;
  std::set<TensorRef> in_progress_;
  std::vector<TensorRef> stack_;
};

}  // namespace

ir::Graph import_keras_h5(const std::filesystem::path& path) { return KerasModelReader(path).read(); }

ir::Graph import_keras_config(const std::string& model_config, const std::filesystem::path& weights_h5) {
  return KerasModelReader(weights_h5).read(&model_config);
}

}  // namespace tinyq::importers
