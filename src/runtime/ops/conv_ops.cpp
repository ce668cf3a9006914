#include "core/error.h"
#include "ir/shape_inference.h"
#include "kernels/reference/conv.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {

RunFn prepare_conv(const ir::Graph& graph, const ir::Node& node, const OpOptions&) {
  if (node.inputs.size() < 2 || graph.value(node.inputs[1]).shape.size() != 4)
    throw Error("node '" + node.name + "': tinyq runs 2-D convolutions only (4-D weight)");
  kernels::Conv2DParams base;
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto dilations = node.attr_ints("dilations", {1, 1});
  const auto pads = ir::spatial_pads(node, 2);
  base.stride_h = strides[0];
  base.stride_w = strides[1];
  base.dilation_h = dilations[0];
  base.dilation_w = dilations[1];
  base.pad_top = pads[0];
  base.pad_left = pads[1];
  base.group = node.attr_int("group", 1);

  kernels::Activation activation;
  if (node.op_type == "FusedConv") {
    const std::string kind = node.attr_string("activation", "");
    if (kind == "Relu") {
      activation.kind = kernels::Activation::Kind::relu;
    } else if (kind == "Clip") {
      const auto params = node.attr_floats("activation_params");
      if (params.size() != 2) throw Error("node '" + node.name + "': Clip activation needs activation_params [min, max]");
      activation = {kernels::Activation::Kind::clip, params[0], params[1]};
    } else {
      throw Error("node '" + node.name + "': FusedConv activation '" + kind + "' is not supported");
    }
  }

  return [base, activation](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::Conv2DParams p = base;
    const auto& xs = in[0]->shape();
    const auto& ws = in[1]->shape();
    const auto& ys = out[0].shape();
    p.batch = xs[0];
    p.in_channels = xs[1];
    p.in_h = xs[2];
    p.in_w = xs[3];
    p.out_channels = ys[1];
    p.out_h = ys[2];
    p.out_w = ys[3];
    p.kernel_h = ws[2];
    p.kernel_w = ws[3];
    const std::span<const float> bias = in.size() > 2 && in[2] ? in[2]->data<float>() : std::span<const float>{};
    kernels::conv2d_f32(p, in[0]->data<float>(), in[1]->data<float>(), bias, out[0].data<float>(), activation);
  };
}

}  // namespace tinyq::runtime::ops
