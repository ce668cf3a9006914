#include <memory>
#include <vector>

#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/reference/gemm.h"
#include "kernels/x86/gemm_avx2.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime::ops {

namespace {

// op(B) as [k][n] for the AVX2 kernel: packed once when B is a constant
// (nullptr: B is read as it comes, which needs B untransposed).
std::shared_ptr<const std::vector<float>> packed_constant_b(const ir::Graph& graph, const ir::Node& node, kernels::GemmParams p) {
  if (node.inputs.size() < 2 || !graph.is_initializer(node.inputs[1])) return nullptr;
  const Tensor& b = graph.initializer(node.inputs[1]);
  if (b.shape().size() != 2 || b.dtype() != DType::f32) return nullptr;
  p.k = p.trans_b ? b.shape()[1] : b.shape()[0];
  p.n = p.trans_b ? b.shape()[0] : b.shape()[1];
  return std::make_shared<const std::vector<float>>(kernels::x86::pack_gemm_b(p, b.data<float>()));
}

}  // namespace

PreparedOp prepare_gemm(const ir::Graph& graph, const ir::Node& node, const OpOptions& options) {
  kernels::GemmParams base;
  base.trans_a = node.attr_int("transA", 0) != 0;
  base.trans_b = node.attr_int("transB", 0) != 0;
  base.alpha = node.attr_float("alpha", 1.f);
  base.beta = node.attr_float("beta", 1.f);
  const bool fast = kernels::use_avx2(options.kernels);
  auto packed = fast ? packed_constant_b(graph, node, base) : nullptr;
  return {[base, fast, packed](std::span<const Tensor* const> in, std::span<Tensor> out) {
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
    if (packed) kernels::x86::gemm_f32_avx2(p, in[0]->data<float>(), *packed, c, out[0].data<float>());
    else if (fast && !p.trans_b) kernels::x86::gemm_f32_avx2(p, in[0]->data<float>(), in[1]->data<float>(), c, out[0].data<float>());
    else kernels::gemm_f32(p, in[0]->data<float>(), in[1]->data<float>(), c, out[0].data<float>());
  },
          fast ? "x86-avx2" : "reference"};
}

PreparedOp prepare_matmul(const ir::Graph&, const ir::Node&, const OpOptions& options) {
  // A [..., M, K] x B [K, N]: the leading dims of A fold into M; B is read as it is.
  const bool fast = kernels::use_avx2(options.kernels);
  return {[fast](std::span<const Tensor* const> in, std::span<Tensor> out) {
            kernels::GemmParams p;
            p.k = in[1]->shape()[0];
            p.n = in[1]->shape()[1];
            p.m = static_cast<std::int64_t>(in[0]->element_count()) / p.k;
            if (fast) kernels::x86::gemm_f32_avx2(p, in[0]->data<float>(), in[1]->data<float>(), {}, out[0].data<float>());
            else kernels::gemm_f32(p, in[0]->data<float>(), in[1]->data<float>(), {}, out[0].data<float>());
          },
          fast ? "x86-avx2" : "reference"};
}

}  // namespace tinyq::runtime::ops
