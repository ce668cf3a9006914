#pragma once
// Prepare functions, one per op (grouped a file per op family).
#include "kernels/reference/conv.h"
#include "kernels/reference/pool.h"
#include "runtime/op_registry.h"

namespace tinyq::runtime::ops {

PreparedOp prepare_conv(const ir::Graph&, const ir::Node&, const OpOptions&);  // Conv and com.microsoft FusedConv
PreparedOp prepare_gemm(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_matmul(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_average_pool(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_max_pool(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_global_average_pool(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_relu(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_clip(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_sigmoid(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_tanh(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_add(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_batchnorm(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_softmax(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_copy(const ir::Graph&, const ir::Node&, const OpOptions&);  // Flatten, Reshape, Identity: same bytes, new shape
PreparedOp prepare_transpose(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_pad(const ir::Graph&, const ir::Node&, const OpOptions&);

PreparedOp prepare_quantize_linear(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_dequantize_linear(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_qlinear_conv(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_qlinear_matmul(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_qlinear_add(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_qlinear_global_average_pool(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_qlinear_softmax(const ir::Graph&, const ir::Node&, const OpOptions&);
PreparedOp prepare_qlinear_average_pool(const ir::Graph&, const ir::Node&, const OpOptions&);

// Shared helpers for prepare functions.
// A Conv/QLinearConv node's geometry (from its attributes) completed with the
// sizes of one run: x [N,C,H,W], weight [M,C/group,kH,kW], y [N,M,oH,oW].
kernels::Conv2DParams conv_params_for(kernels::Conv2DParams geometry, const Shape& x, const Shape& w, const Shape& y);
// A grouped convolution (Keras groups, or a depth multiplier above 1) run as
// one group-1 convolution per group on its channel slices, image by image:
// run_group(g, geometry of one group and one image, x slice, y slice). The
// fast group-1 kernels then serve it, each group packed on its own.
template <typename TX, typename TY, typename RunGroup>
void run_groups(const kernels::Conv2DParams& p, const TX* x, TY* y, RunGroup run_group) {
  kernels::Conv2DParams one = p;
  one.batch = 1, one.group = 1, one.in_channels = p.in_channels / p.group, one.out_channels = p.out_channels / p.group;
  const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  for (std::int64_t n = 0; n < p.batch; ++n)
    for (std::int64_t g = 0; g < p.group; ++g)
      run_group(g, one, x + (n * p.in_channels + g * one.in_channels) * in_plane, y + (n * p.out_channels + g * one.out_channels) * out_plane);
}
// Fills the spatial sizes the graph knows before any run (for kernels that prepare per size).
void with_spatial_sizes(kernels::Conv2DParams& geometry, const ir::Graph& graph, const ir::Node& node);
// A pooling node's window, strides and pads; pool_sizes() adds one run's sizes (NCHW).
kernels::Pool2DParams pool_geometry(const ir::Node& node);
void pool_sizes(kernels::Pool2DParams& p, const Tensor& x, const Tensor& y);
using ir::constant_input;
// The scalar value of an optional constant input, or `fallback` when omitted.
float optional_scalar(const ir::Graph& graph, const ir::Node& node, std::size_t index, float fallback);

}  // namespace tinyq::runtime::ops
