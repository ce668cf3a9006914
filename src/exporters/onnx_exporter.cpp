#include "exporters/onnx_exporter.h"

#include <onnx/onnx_pb.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/onnx_tensor.h"

namespace tinyq::exporters {
namespace {

void set_type(onnx::ValueInfoProto* info, const std::string& name, DType dtype, const Shape& shape) {
  info->set_name(name);
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx_elem_type(dtype));
  auto* dims = tensor_type->mutable_shape();
  for (auto d : shape) {
    auto* dim = dims->add_dim();
    if (d == kBatch) dim->set_dim_param("N");
    else dim->set_dim_value(d);
  }
}

void set_attribute(onnx::AttributeProto* a, const std::string& name, const ir::Attribute& value) {
  a->set_name(name);
  if (auto* i = std::get_if<std::int64_t>(&value)) {
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(*i);
  } else if (auto* f = std::get_if<float>(&value)) {
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(*f);
  } else if (auto* s = std::get_if<std::string>(&value)) {
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(*s);
  } else if (auto* is = std::get_if<std::vector<std::int64_t>>(&value)) {
    a->set_type(onnx::AttributeProto::INTS);
    for (auto v : *is) a->add_ints(v);
  } else if (auto* fs = std::get_if<std::vector<float>>(&value)) {
    a->set_type(onnx::AttributeProto::FLOATS);
    for (auto v : *fs) a->add_floats(v);
  }
}

}  // namespace

onnx::ModelProto to_onnx_model(const ir::Graph& graph, const OnnxExportOptions& options) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("tinyq");
  model.set_producer_version("0.1.0");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  bool contrib = false;
  for (const auto& node : graph.nodes()) contrib = contrib || node.domain == "com.microsoft";
  if (contrib) {
    auto* ms = model.add_opset_import();
    ms->set_domain("com.microsoft");
    ms->set_version(1);
  }

  onnx::GraphProto* g = model.mutable_graph();
  g->set_name(graph.name);
  if (options.nhwc_input && (graph.inputs().size() != 1 || graph.value(graph.inputs()[0]).shape.size() != 4))
    throw Error("--input-layout nhwc needs a model with one 4-D input");
  // With an NHWC input, the IR's NCHW input becomes the Transpose's output.
  auto name_of = [&](ir::ValueId id) {
    const std::string& name = graph.value(id).name;
    if (options.nhwc_input && id == graph.inputs()[0]) return name + "_nchw";
    return name;
  };

  for (ir::ValueId id : graph.inputs()) {
    const ir::Value& v = graph.value(id);
    if (options.nhwc_input) {
      set_type(g->add_input(), v.name, v.dtype, {v.shape[0], v.shape[2], v.shape[3], v.shape[1]});
      auto* t = g->add_node();
      t->set_name(v.name + "_to_nchw");
      t->set_op_type("Transpose");
      t->add_input(v.name);
      t->add_output(name_of(id));
      set_attribute(t->add_attribute(), "perm", std::vector<std::int64_t>{0, 3, 1, 2});
    } else {
      set_type(g->add_input(), v.name, v.dtype, v.shape);
    }
  }
  for (ir::ValueId id : graph.outputs()) set_type(g->add_output(), graph.value(id).name, graph.value(id).dtype, graph.value(id).shape);

  for (std::uint32_t v = 0; v < graph.values().size(); ++v) {
    const ir::Value& value = graph.values()[v];
    if (value.initializer) {
      *g->add_initializer() = to_tensor_proto(value.name, *value.initializer);
    } else if (!graph.is_graph_output(ir::ValueId{v}) &&
               std::find(graph.inputs().begin(), graph.inputs().end(), ir::ValueId{v}) == graph.inputs().end()) {
      // Intermediate shapes help viewers such as Netron and ONNX Runtime's planner.
      set_type(g->add_value_info(), value.name, value.dtype, value.shape);
    }
  }

  for (const ir::Node& node : graph.nodes()) {
    auto* n = g->add_node();
    n->set_name(node.name);
    n->set_op_type(node.op_type);
    if (!node.domain.empty()) n->set_domain(node.domain);
    for (ir::ValueId in : node.inputs) n->add_input(in.valid() ? name_of(in) : std::string());
    for (ir::ValueId out : node.outputs) n->add_output(name_of(out));
    for (const auto& [key, value] : node.attributes) set_attribute(n->add_attribute(), key, value);
  }
  return model;
}

void write_onnx(const ir::Graph& graph, const std::filesystem::path& path, const OnnxExportOptions& options) {
  std::string bytes;
  if (!to_onnx_model(graph, options).SerializeToString(&bytes)) throw Error(path.string() + ": ONNX serialization failed");
  write_file_atomically(path, bytes);
}

}  // namespace tinyq::exporters
