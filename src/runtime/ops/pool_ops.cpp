#include "core/error.h"
#include "ir/shape_inference.h"
#include "kernels/reference/pool.h"
#include "kernels/reference/quantized.h"
#include "kernels/x86/pool_avx2.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {
namespace {

kernels::Pool2DParams pool_base(const ir::Node& node) {
  const auto kernel = node.attr_ints("kernel_shape");
  if (kernel.size() != 2) throw Error("node '" + node.name + "': tinyq runs 2-D pooling only");
  if (node.attr_int("ceil_mode", 0) != 0) throw Error("node '" + node.name + "': ceil_mode=1 is not supported");
  if (node.has_attr("dilations") && node.attr_ints("dilations") != std::vector<std::int64_t>{1, 1})
    throw Error("node '" + node.name + "': pooling dilations are not supported");
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto pads = ir::spatial_pads(node, 2);
  kernels::Pool2DParams p;
  p.kernel_h = kernel[0];
  p.kernel_w = kernel[1];
  p.stride_h = strides[0];
  p.stride_w = strides[1];
  p.pad_top = pads[0];
  p.pad_left = pads[1];
  p.pad_bottom = pads[2];
  p.pad_right = pads[3];
  p.count_include_pad = node.attr_int("count_include_pad", 0) != 0;
  return p;
}

void fill_dims(kernels::Pool2DParams& p, const Tensor& x, const Tensor& y) {
  p.batch = x.shape()[0];
  p.channels = x.shape()[1];
  p.in_h = x.shape()[2];
  p.in_w = x.shape()[3];
  p.out_h = y.shape()[2];
  p.out_w = y.shape()[3];
}

}  // namespace

kernels::Pool2DParams pool_geometry(const ir::Node& node) { return pool_base(node); }
void pool_sizes(kernels::Pool2DParams& p, const Tensor& x, const Tensor& y) { fill_dims(p, x, y); }

// A window that is the whole unpadded map is a global average.
bool covers_whole_map(const kernels::Pool2DParams& p) {
  return p.kernel_h == p.in_h && p.kernel_w == p.in_w && p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
}

PreparedOp prepare_average_pool(const ir::Graph&, const ir::Node& node, const OpOptions& options) {
  const bool fast = kernels::use_avx2(options.kernels);
  return {[base = pool_base(node), fast](std::span<const Tensor* const> in, std::span<Tensor> out) {
            auto p = base;
            fill_dims(p, *in[0], out[0]);
            if (fast && covers_whole_map(p))
              kernels::x86::global_average_pool_f32_avx2(p.batch * p.channels, p.in_h * p.in_w, in[0]->data<float>(), out[0].data<float>());
            else if (fast)
              kernels::x86::average_pool2d_f32_avx2(p, in[0]->data<float>(), out[0].data<float>());
            else
              kernels::average_pool2d_f32(p, in[0]->data<float>(), out[0].data<float>());
          },
          fast ? "x86-avx2" : "reference"};
}

PreparedOp prepare_max_pool(const ir::Graph&, const ir::Node& node, const OpOptions& options) {
  if (node.outputs.size() > 1) throw Error("node '" + node.name + "': MaxPool Indices output is not supported");
  const bool fast = kernels::use_avx2(options.kernels);
  return {[base = pool_base(node), fast](std::span<const Tensor* const> in, std::span<Tensor> out) {
            auto p = base;
            fill_dims(p, *in[0], out[0]);
            // Quantized data: the maximum of the integers is the maximum of the values.
            switch (in[0]->dtype()) {
              case DType::u8:
                if (fast) kernels::x86::max_pool2d_quantized_avx2(p, in[0]->data<std::uint8_t>(), out[0].data<std::uint8_t>());
                else kernels::max_pool2d_quantized(p, in[0]->data<std::uint8_t>(), out[0].data<std::uint8_t>());
                break;
              case DType::s8:
                if (fast) kernels::x86::max_pool2d_quantized_avx2(p, in[0]->data<std::int8_t>(), out[0].data<std::int8_t>());
                else kernels::max_pool2d_quantized(p, in[0]->data<std::int8_t>(), out[0].data<std::int8_t>());
                break;
              default:
                if (fast) kernels::x86::max_pool2d_f32_avx2(p, in[0]->data<float>(), out[0].data<float>());
                else kernels::max_pool2d_f32(p, in[0]->data<float>(), out[0].data<float>());
                break;
            }
          },
          fast ? "x86-avx2" : "reference"};
}

PreparedOp prepare_global_average_pool(const ir::Graph&, const ir::Node&, const OpOptions& options) {
  const bool fast = kernels::use_avx2(options.kernels);
  return {[fast](std::span<const Tensor* const> in, std::span<Tensor> out) {
            const auto& s = in[0]->shape();
            const std::int64_t nc = s[0] * s[1], plane = static_cast<std::int64_t>(in[0]->element_count()) / nc;
            if (fast) kernels::x86::global_average_pool_f32_avx2(nc, plane, in[0]->data<float>(), out[0].data<float>());
            else kernels::global_average_pool_f32(nc, plane, in[0]->data<float>(), out[0].data<float>());
          },
          fast ? "x86-avx2" : "reference"};
}

}  // namespace tinyq::runtime::ops
