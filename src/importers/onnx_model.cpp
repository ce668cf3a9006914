#include "importers/onnx_model.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <set>

#include "core/error.h"
#include "core/onnx_tensor.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"

namespace tinyq::importers {
namespace {

constexpr std::int64_t kMinOpset = 13, kMaxOpset = 17;

ir::Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& where) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: return a.i();
    case onnx::AttributeProto::FLOAT: return a.f();
    case onnx::AttributeProto::STRING: return a.s();
    case onnx::AttributeProto::INTS: return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    default:
      throw Error(where + ": attribute '" + a.name() + "' has type " +
                  onnx::AttributeProto::AttributeType_Name(a.type()) + ", which tinyq does not read");
  }
}

Shape shape_from_proto(const onnx::ValueInfoProto& info, const std::string& where) {
  if (!info.type().has_tensor_type()) throw Error(where + ": '" + info.name() + "' is not a tensor");
  Shape shape;
  const auto& dims = info.type().tensor_type().shape().dim();
  for (int i = 0; i < dims.size(); ++i) {
    if (dims[i].has_dim_value()) {
      if (dims[i].dim_value() <= 0) throw Error(where + ": '" + info.name() + "' has dimension " + std::to_string(dims[i].dim_value()));
      shape.push_back(dims[i].dim_value());
    } else if (i == 0) {
      shape.push_back(kBatch);  // the symbolic batch, whatever its name
    } else {
      throw Error(where + ": '" + info.name() + "' has a symbolic dimension " + std::to_string(i) +
                  "; tinyq needs static shapes except the batch");
    }
  }
  return shape;
}

}  // namespace

ir::Graph import_onnx(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(file + ": cannot open");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) throw Error(file + ": not a valid ONNX protobuf (truncated or damaged?)");

  for (const auto& opset : model.opset_import()) {
    if ((opset.domain().empty() || opset.domain() == "ai.onnx") &&
        (opset.version() < kMinOpset || opset.version() > kMaxOpset))
      throw Error(file + ": opset_import version " + std::to_string(opset.version()) + " for the default domain; tinyq reads opsets " +
                  std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
  }

  const onnx::GraphProto& g = model.graph();
  ir::Graph graph;
  graph.name = g.name().empty() ? path.stem().string() : g.name();
  try {
    std::set<std::string> initializer_names;
    for (const auto& init : g.initializer()) {
      graph.add_initializer(init.name(), from_tensor_proto(init, "initializer '" + init.name() + "'"));
      initializer_names.insert(init.name());
    }
    for (const auto& input : g.input()) {
      if (initializer_names.count(input.name())) continue;  // older exporters list initializers as inputs too
      const std::string where = "graph input '" + input.name() + "'";
      graph.add_input(input.name(), dtype_from_onnx(input.type().tensor_type().elem_type(), where),
                      shape_from_proto(input, where));
    }
    for (const auto& proto : g.node()) {
      ir::Node node;
      node.op_type = proto.op_type();
      node.domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
      node.name = proto.name().empty() ? proto.op_type() + "_" + std::to_string(graph.nodes().size()) : proto.name();
      const std::string where = "node '" + node.name + "' (" + node.op_type + ")";
      for (const auto& a : proto.attribute()) node.attributes[a.name()] = attribute_from_proto(a, where);
      if (node.op_type == "Constant" && node.domain.empty()) {
        // Constants become initializers, which is what every consumer expects.
        auto it = std::find_if(proto.attribute().begin(), proto.attribute().end(), [](const auto& a) { return a.name() == "value"; });
        if (it == proto.attribute().end() || proto.output_size() != 1) throw Error(where + ": only Constant(value=tensor) is supported");
        graph.add_initializer(proto.output(0), from_tensor_proto(it->t(), where));
        continue;
      }
      if (!ir::is_known_op(node)) throw Error(where + ": operator " + (node.domain.empty() ? "" : node.domain + ":") + node.op_type +
                                              " is not supported by tinyq");
      for (const auto& name : proto.input()) {
        if (name.empty()) {
          node.inputs.push_back(ir::ValueId{});
          continue;
        }
        auto id = graph.find_value(name);
        if (!id) throw Error(where + ": input '" + name + "' is not defined before this node");
        node.inputs.push_back(*id);
      }
      std::vector<ir::TensorType> types;
      for (ir::ValueId id : node.inputs)
        if (id.valid()) types.push_back({graph.value(id).dtype, graph.value(id).shape});
      const auto out = ir::infer_node_types(graph, node, types);
      if (static_cast<std::size_t>(proto.output_size()) < out.size())
        throw Error(where + ": has " + std::to_string(proto.output_size()) + " outputs, expected " + std::to_string(out.size()));
      for (std::size_t i = 0; i < out.size(); ++i) node.outputs.push_back(graph.add_value(proto.output(static_cast<int>(i)), out[i].dtype, out[i].shape));
      graph.add_node(std::move(node));
    }
    for (const auto& output : g.output()) {
      auto id = graph.find_value(output.name());
      if (!id) throw Error("graph output '" + output.name() + "' is never computed");
      graph.mark_output(*id);
    }
    ir::verify(graph);
  } catch (const Error& e) {
    throw Error(file + ": " + e.what());
  }
  return graph;
}

}  // namespace tinyq::importers
