#include "core/error.h"
#include "kernels/reference/gemm.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {

PreparedOp prepare_gemm(const ir::Graph&, const ir::Node& node, const OpOptions&) {
  kernels::GemmParams base;
  base.trans_a = node.attr_int("transA", 0) != 0;
  base.trans_b = node.attr_int("transB", 0) != 0;
  base.alpha = node.attr_float("alpha", 1.f);
  base.beta = node.attr_float("beta", 1.f);
  return [base](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::GemmParams p = base;
    const auto& ys = out[0].shape();
    p.m = ys[0];
    p.n = ys[1];
    p.k = base.trans_a ? in[0]->shape()[0] : in[0]->shape()[1];
    std::span<const float> c;
    if (in.size() > 2 && in[2]) {
      // Resolve C's unidirectional broadcast to [M, N] as strides.
      const auto& cs = in[2]->shape();
      const std::int64_t c_rows = cs.size() == 2 ? cs[0] : 1, c_cols = cs.empty() ? 1 : cs.back();
      p.c_stride_n = c_cols == 1 ? 0 : 1;
      p.c_stride_m = c_rows == 1 ? 0 : c_cols;
      c = in[2]->data<float>();
    }
    kernels::gemm_f32(p, in[0]->data<float>(), in[1]->data<float>(), c, out[0].data<float>());
  };
}

PreparedOp prepare_matmul(const ir::Graph&, const ir::Node&, const OpOptions&) {
  // A [..., M, K] x B [K, N]: the leading dims of A fold into M.
  return [](std::span<const Tensor* const> in, std::span<Tensor> out) {
    kernels::GemmParams p;
    p.k = in[1]->shape()[0];
    p.n = in[1]->shape()[1];
    p.m = static_cast<std::int64_t>(in[0]->element_count()) / p.k;
    kernels::gemm_f32(p, in[0]->data<float>(), in[1]->data<float>(), {}, out[0].data<float>());
  };
}

}  // namespace tinyq::runtime::ops
