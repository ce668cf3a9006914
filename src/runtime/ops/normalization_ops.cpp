#include "core/error.h"
#include "kernels/reference/batchnorm.h"
#include "kernels/reference/softmax.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {

PreparedOp prepare_batchnorm(const ir::Graph&, const ir::Node& node, const OpOptions&) {
  if (node.outputs.size() != 1) throw Error("node '" + node.name + "': training-mode BatchNormalization is not supported");
  const float epsilon = node.attr_float("epsilon", 1e-5f);
  return [epsilon](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const auto& s = in[0]->shape();
    kernels::BatchNormParams p;
    p.batch = s[0];
    p.channels = s[1];
    p.plane = static_cast<std::int64_t>(in[0]->element_count()) / (p.batch * p.channels);
    p.epsilon = epsilon;
    kernels::batchnorm_f32(p, in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(), in[3]->data<float>(),
                           in[4]->data<float>(), out[0].data<float>());
  };
}

PreparedOp prepare_softmax(const ir::Graph&, const ir::Node& node, const OpOptions&) {
  const std::int64_t axis_attr = node.attr_int("axis", -1);
  return [axis_attr](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const auto& s = in[0]->shape();
    const auto axis = static_cast<std::size_t>(axis_attr < 0 ? axis_attr + static_cast<std::int64_t>(s.size()) : axis_attr);
    std::int64_t outer = 1, inner = 1;
    for (std::size_t i = 0; i < axis; ++i) outer *= s[i];
    for (std::size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
    kernels::softmax_f32(outer, s[axis], inner, in[0]->data<float>(), out[0].data<float>());
  };
}

}  // namespace tinyq::runtime::ops
