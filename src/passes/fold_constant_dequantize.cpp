#include "passes/fold_constant_dequantize.h"

#include "kernels/reference/quantized.h"

namespace tinyq::passes {
int fold_constant_dequantize(ir::Graph& graph) {
  std::vector<ir::NodeId> folded;
  for (std::uint32_t n = 0; n < graph.nodes().size(); ++n) {
    const ir::Node node = graph.nodes()[n];  // a copy: initializers are added below
    if (node.op_type != "DequantizeLinear" || !node.domain.empty() || node.outputs.size() != 1) continue;
    if (graph.is_graph_output(node.outputs[0]) || !graph.is_initializer(node.inputs[0]) || !graph.is_initializer(node.inputs[1])) continue;
    const bool has_zp = node.inputs.size() > 2 && node.inputs[2].valid();
    if (has_zp && !graph.is_initializer(node.inputs[2])) continue;
    const Tensor& x = graph.initializer(node.inputs[0]);
    const Tensor& scale_t = graph.initializer(node.inputs[1]);
    if (scale_t.dtype() != DType::f32) continue;
    const auto scales = scale_t.data<float>();
    const Tensor* zp_tensor = has_zp ? &graph.initializer(node.inputs[2]) : nullptr;
    if (zp_tensor && zp_tensor->dtype() != DType::u8 && zp_tensor->dtype() != DType::s8 && zp_tensor->dtype() != DType::s32) continue;
    std::vector<std::int32_t> zps = zp_tensor ? to_int32_vector(*zp_tensor, "zero point") : std::vector<std::int32_t>{0};
    if (zps.size() == 1 && scales.size() > 1) zps.assign(scales.size(), zps[0]);
    if (zps.size() != scales.size()) continue;
    // Per-axis parameters: channel = (i / inner) % axis_size, as the runtime op computes it.
    std::int64_t axis_size = 1, inner = 1;
    if (scales.size() > 1) {
      const auto& s = x.shape();
      std::int64_t axis = node.attr_int("axis", 1);
      if (axis < 0) axis += static_cast<std::int64_t>(s.size());
      if (axis < 0 || axis >= static_cast<std::int64_t>(s.size()) || s[static_cast<std::size_t>(axis)] != static_cast<std::int64_t>(scales.size())) continue;
      axis_size = s[static_cast<std::size_t>(axis)];
      for (std::size_t i = static_cast<std::size_t>(axis) + 1; i < s.size(); ++i) inner *= s[i];
    }
    Tensor y(DType::f32, x.shape());
    switch (x.dtype()) {
      case DType::u8: kernels::dequantize_linear(x.data<std::uint8_t>(), scales, zps, axis_size, inner, y.data<float>()); break;
      case DType::s8: kernels::dequantize_linear(x.data<std::int8_t>(), scales, zps, axis_size, inner, y.data<float>()); break;
      case DType::s32: kernels::dequantize_linear(x.data<std::int32_t>(), scales, zps, axis_size, inner, y.data<float>()); break;
      default: continue;
    }
    const ir::ValueId constant = graph.add_initializer(graph.unique_name(graph.value(node.outputs[0]).name), std::move(y));
    graph.replace_uses(node.outputs[0], constant);
    folded.push_back(ir::NodeId{n});
  }
  if (!folded.empty()) graph.remove_nodes(folded);
  return static_cast<int>(folded.size());
}

}  // namespace tinyq::passes
