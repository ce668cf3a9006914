#include <memory>

#include "core/error.h"
#include "ir/shape_inference.h"
#include "kernels/reference/conv.h"
#include "kernels/x86/conv_avx2.h"
#include "kernels/x86/conv_avx512.h"
#include "kernels/x86/depthwise_avx2.h"
#include "kernels/x86/winograd_avx512.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {

void with_spatial_sizes(kernels::Conv2DParams& geometry, const ir::Graph& graph, const ir::Node& node) {
  const Shape& x = graph.value(node.inputs[0]).shape;
  const Shape& y = graph.value(node.outputs[0]).shape;
  if (x.size() != 4 || y.size() != 4) return;
  geometry.in_h = x[2], geometry.in_w = x[3], geometry.out_h = y[2], geometry.out_w = y[3];  // kBatch is only ever dim 0
}

kernels::Conv2DParams conv_params_for(kernels::Conv2DParams geometry, const Shape& x, const Shape& w, const Shape& y) {
  geometry.batch = x[0], geometry.in_channels = x[1], geometry.in_h = x[2], geometry.in_w = x[3];
  geometry.out_channels = y[1], geometry.out_h = y[2], geometry.out_w = y[3];
  geometry.kernel_h = w[2], geometry.kernel_w = w[3];
  return geometry;
}

namespace {

// Whether a FusedConv has the sum input (its fourth; shape inference has
// checked that it has the output's shape).
bool has_sum_input(const ir::Node& node) { return node.inputs.size() > 3 && node.inputs[3].valid(); }

// FusedConv's activation (none for a plain Conv).
kernels::Activation activation_of(const ir::Node& node) {
  kernels::Activation activation;
  if (node.op_type != "FusedConv") return activation;
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
  return activation;
}

// The convolution's kernel, with the sum input (FusedConv's fourth, if any)
// passed to the kernels that take it: `sum_done` says whether the chosen one
// did.
PreparedOp prepare_conv_kernel(const ir::Graph& graph, const ir::Node& node, const OpOptions& options,
                               kernels::Activation activation, bool& sum_done) {
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

  // With a sum input the activation comes after the sum: a kernel that does
  // not take the sum runs without it, and prepare_conv applies both after.
  const kernels::Activation kernel_activation = has_sum_input(node) ? kernels::Activation{} : activation;
  sum_done = false;

  const bool has_bias = node.inputs.size() > 2 && node.inputs[2].valid();
  // Depthwise (one group per channel, one output channel each) on AVX2.
  if (kernels::use_avx2(options.kernels) && base.group > 1 && graph.is_initializer(node.inputs[1]) &&
      (!has_bias || graph.is_initializer(node.inputs[2]))) {
    const Tensor& w = graph.initializer(node.inputs[1]);
    const Shape ws = w.shape();
    const Shape& xs = graph.value(node.inputs[0]).shape;
    if (xs.size() == 4 && xs[1] == base.group && ws[0] == base.group && ws[1] == 1) {
      kernels::Conv2DParams geometry = base;
      geometry.out_channels = geometry.in_channels = ws[0], geometry.kernel_h = ws[2], geometry.kernel_w = ws[3];
      with_spatial_sizes(geometry, graph, node);
      const auto packed = std::make_shared<const kernels::x86::PackedDepthwiseF32>(kernels::x86::pack_depthwise_f32(
          geometry, w.data<float>(), has_bias ? graph.initializer(node.inputs[2]).data<float>() : std::span<const float>{},
          kernel_activation));
      return {[base, packed, ws](std::span<const Tensor* const> in, std::span<Tensor> out) {
                const auto p = conv_params_for(base, in[0]->shape(), ws, out[0].shape());
                kernels::x86::depthwise_f32_avx2(p, *packed, in[0]->data<float>().data(), out[0].data<float>().data());
              },
              "x86-avx2"};
    }
  }
  // Other grouped convolutions: the direct kernel per group (run_groups).
  if (kernels::use_avx2(options.kernels) && base.group > 1 && graph.is_initializer(node.inputs[1]) &&
      (!has_bias || graph.is_initializer(node.inputs[2]))) {
    const Tensor& w = graph.initializer(node.inputs[1]);
    const Shape ws = w.shape();
    const Shape& xs = graph.value(node.inputs[0]).shape;
    if (xs.size() == 4 && xs[1] == ws[1] * base.group && ws[0] % base.group == 0) {
      kernels::Conv2DParams geometry = base;
      geometry.group = 1, geometry.out_channels = ws[0] / base.group, geometry.in_channels = ws[1];
      geometry.kernel_h = ws[2], geometry.kernel_w = ws[3];
      with_spatial_sizes(geometry, graph, node);
      const std::int64_t group_weights = geometry.out_channels * ws[1] * ws[2] * ws[3];
      const std::span<const float> bias = has_bias ? graph.initializer(node.inputs[2]).data<float>() : std::span<const float>{};
      auto packed = std::make_shared<std::vector<kernels::x86::PackedConvF32>>();
      for (std::int64_t g = 0; g < base.group; ++g)
        packed->push_back(kernels::x86::pack_conv_f32(geometry, w.data<float>().subspan(g * group_weights, group_weights),
                                                      bias.empty() ? bias : bias.subspan(g * geometry.out_channels, geometry.out_channels),
                                                      kernel_activation));
      const int isa = kernels::use_avx512(options.kernels) ? 2 : kernels::use_avx512_emulated(options.kernels) ? 1 : 0;
      return {[base, packed, ws, isa](std::span<const Tensor* const> in, std::span<Tensor> out) {
                const auto p = conv_params_for(base, in[0]->shape(), ws, out[0].shape());
                run_groups(p, in[0]->data<float>().data(), out[0].data<float>().data(),
                           [&](std::int64_t g, const kernels::Conv2DParams& one, const float* x, float* y) {
                             const auto& group = (*packed)[static_cast<std::size_t>(g)];
                             if (isa == 2) kernels::x86::avx512::conv2d_f32(one, group, x, y);
                             else if (isa == 1) kernels::x86::avx512_emulated::conv2d_f32(one, group, x, y);
                             else kernels::x86::conv2d_f32_avx2(one, group, x, y);
                           });
              },
              isa == 2 ? "x86-avx512" : isa == 1 ? "x86-avx512-emulated" : "x86-avx2"};
    }
  }
  if (kernels::use_avx2(options.kernels) && base.group == 1 && graph.is_initializer(node.inputs[1]) &&
      (!has_bias || graph.is_initializer(node.inputs[2]))) {
    const Tensor& w = graph.initializer(node.inputs[1]);
    const Shape ws = w.shape();
    kernels::Conv2DParams geometry = base;
    geometry.out_channels = ws[0], geometry.in_channels = ws[1], geometry.kernel_h = ws[2], geometry.kernel_w = ws[3];
    with_spatial_sizes(geometry, graph, node);
    const std::span<const float> bias = has_bias ? graph.initializer(node.inputs[2]).data<float>() : std::span<const float>{};
    // Winograd for 3x3 stride-1 layers, except where the result is quantized
    // again (input from a DequantizeLinear): there the direct kernel's
    // rounding, ONNX Runtime's, decides the integers (see winograd_avx512.h).
    const auto input_producer = graph.producer(node.inputs[0]);
    const bool feeds_quantization = input_producer && graph.node(*input_producer).op_type == "DequantizeLinear";
    const bool wide = kernels::use_avx512(options.kernels), emulated = !wide && kernels::use_avx512_emulated(options.kernels);
    // (Measured faster from 3 input channels on: an RGB first layer ran at
    // 45 GMAC/s against the direct kernel's 37.)
    if ((wide || emulated) && !feeds_quantization && geometry.in_channels >= 3 && kernels::x86::winograd_applies(geometry)) {
      const auto packed = std::make_shared<const kernels::x86::PackedWinogradF32>(
          kernels::x86::pack_winograd_f32(geometry, w.data<float>(), bias, activation));
      sum_done = true;
      return {[base, packed, ws, emulated, name = node.name](std::span<const Tensor* const> in, std::span<Tensor> out) {
                const auto p = conv_params_for(base, in[0]->shape(), ws, out[0].shape());
                const float* x = in[0]->data<float>().data();
                const float* sum = in.size() > 3 && in[3] ? in[3]->data<float>().data() : nullptr;
                float* y = out[0].data<float>().data();
                if (!kernels::x86::winograd_applies(p))  // the graph's spatial sizes are fixed; only the batch varies
                  throw Error("node '" + name + "': input " + shape_to_string(in[0]->shape()) + " is not the size it was planned for");
                if (emulated) kernels::x86::avx512_emulated::winograd_conv3x3_f32(p, *packed, x, sum, y);
                else kernels::x86::avx512::winograd_conv3x3_f32(p, *packed, x, sum, y);
              },
              emulated ? "x86-avx512-emulated-winograd" : "x86-avx512-winograd"};
    }
    const auto packed = std::make_shared<const kernels::x86::PackedConvF32>(kernels::x86::pack_conv_f32(
        geometry, w.data<float>(), bias, kernel_activation));
    // The AVX-512 kernel sums in the same order as the AVX2 one: same values.
    if (kernels::use_avx512(options.kernels))
      return {[base, packed, ws](std::span<const Tensor* const> in, std::span<Tensor> out) {
                const auto p = conv_params_for(base, in[0]->shape(), ws, out[0].shape());
                kernels::x86::avx512::conv2d_f32(p, *packed, in[0]->data<float>().data(), out[0].data<float>().data());
              },
              "x86-avx512"};
    if (kernels::use_avx512_emulated(options.kernels))
      return {[base, packed, ws](std::span<const Tensor* const> in, std::span<Tensor> out) {
                const auto p = conv_params_for(base, in[0]->shape(), ws, out[0].shape());
                kernels::x86::avx512_emulated::conv2d_f32(p, *packed, in[0]->data<float>().data(), out[0].data<float>().data());
              },
              "x86-avx512-emulated"};
    return {[base, packed, ws](std::span<const Tensor* const> in, std::span<Tensor> out) {
              const auto p = conv_params_for(base, in[0]->shape(), ws, out[0].shape());
              kernels::x86::conv2d_f32_avx2(p, *packed, in[0]->data<float>().data(), out[0].data<float>().data());
            },
            "x86-avx2"};
  }
  return [base, kernel_activation](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const auto p = conv_params_for(base, in[0]->shape(), in[1]->shape(), out[0].shape());
    const std::span<const float> bias = in.size() > 2 && in[2] ? in[2]->data<float>() : std::span<const float>{};
    kernels::conv2d_f32(p, in[0]->data<float>(), in[1]->data<float>(), bias, out[0].data<float>(), kernel_activation);
  };
}

}  // namespace

PreparedOp prepare_conv(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  const kernels::Activation activation = activation_of(node);
  bool sum_done = false;
  PreparedOp op = prepare_conv_kernel(graph, node, options, activation, sum_done);
  if (sum_done || !has_sum_input(node)) return op;
  return {[run = std::move(op.run), activation](std::span<const Tensor* const> in, std::span<Tensor> out) {
            run(in, out);
            kernels::add_sum_and_activate_f32(out[0].data<float>(), in[3]->data<float>(), activation);
          },
          op.kernel};
}

}  // namespace tinyq::runtime::ops
