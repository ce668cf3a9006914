// Reference kernels against values derived by hand (the comments show the sums).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "importers/keras_layers.h"
#include "kernels/reference/batchnorm.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/elementwise.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/layout.h"
#include "kernels/reference/pool.h"
#include "kernels/reference/softmax.h"

namespace tinyq::kernels {
namespace {

std::vector<float> iota_from(int n, float first) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

// Builder-style tester: set the geometry, run, compare with expected values.
class ConvTester {
 public:
  ConvTester& input(std::int64_t c, std::int64_t h, std::int64_t w) { p_.in_channels = c, p_.in_h = h, p_.in_w = w; return *this; }
  ConvTester& output(std::int64_t c, std::int64_t h, std::int64_t w) { p_.out_channels = c, p_.out_h = h, p_.out_w = w; return *this; }
  ConvTester& kernel(std::int64_t h, std::int64_t w) { p_.kernel_h = h, p_.kernel_w = w; return *this; }
  ConvTester& stride(std::int64_t s) { p_.stride_h = p_.stride_w = s; return *this; }
  ConvTester& dilation(std::int64_t d) { p_.dilation_h = p_.dilation_w = d; return *this; }
  ConvTester& pads(std::int64_t top, std::int64_t left) { p_.pad_top = top, p_.pad_left = left; return *this; }
  ConvTester& group(std::int64_t g) { p_.group = g; return *this; }
  std::vector<float> run(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b = {},
                         Activation act = {}) const {
    std::vector<float> y(static_cast<std::size_t>(p_.batch * p_.out_channels * p_.out_h * p_.out_w), -999.f);
    conv2d_f32(p_, x, w, b, y, act);
    return y;
  }

 private:
  Conv2DParams p_;
};

TEST(ConvF32, StrideTwoSamePaddingIsAsymmetric) {
  // TensorFlow 'same' on a 4x4 input, 3x3 kernel, stride 2: out 2x2, total pad
  // (2-1)*2 + 3 - 4 = 1, so 0 before and 1 after.
  const auto pads = importers::tensorflow_padding("same", 4, 3, 2, 1);
  EXPECT_EQ(pads[0], 0);
  EXPECT_EQ(pads[1], 1);
  // x = 1..16 row-major, all-ones kernel:
  //   (0,0) = 1+2+3+5+6+7+9+10+11 = 54     (0,1) = 3+4+7+8+11+12 = 45
  //   (1,0) = 9+10+11+13+14+15 = 72        (1,1) = 11+12+15+16 = 54
  // A symmetric pad of 1 would give (0,0) = 1+2+5+6 = 14.
  const auto y = ConvTester().input(1, 4, 4).output(1, 2, 2).kernel(3, 3).stride(2).pads(0, 0)
                     .run(iota_from(16, 1), std::vector<float>(9, 1.f));
  EXPECT_EQ(y, (std::vector<float>{54, 45, 72, 54}));
}

TEST(ConvF32, SamePaddingStrideOneOddKernel) {
  // 3x3 input 1..9, 3x3 ones, pad 1 all round: centre = 45, corner (0,0) = 1+2+4+5 = 12.
  const auto y = ConvTester().input(1, 3, 3).output(1, 3, 3).kernel(3, 3).pads(1, 1)
                     .run(iota_from(9, 1), std::vector<float>(9, 1.f), {0.5f});
  EXPECT_FLOAT_EQ(y[4], 45.5f);
  EXPECT_FLOAT_EQ(y[0], 12.5f);
  EXPECT_FLOAT_EQ(y[8], 5 + 6 + 8 + 9 + 0.5f);
}

TEST(ConvF32, DilationSkipsInputs) {
  // 1x5 row [1..5], kernel [1, 10] with dilation 2: y[i] = x[i] + 10 x[i+2] = 31, 42, 53.
  const auto y = ConvTester().input(1, 1, 5).output(1, 1, 3).kernel(1, 2).dilation(2)
                     .run(iota_from(5, 1), {1.f, 10.f});
  EXPECT_EQ(y, (std::vector<float>{31, 42, 53}));
}

TEST(ConvF32, GroupedAndDepthwise) {
  // 4 channels of one pixel [1,2,3,4]; group 2, weights [2,1,1,1] per output:
  //   out0 = 1*x0 + 2*x1 = 5, out1 = 3*x2 + 4*x3 = 25.
  auto y = ConvTester().input(4, 1, 1).output(2, 1, 1).kernel(1, 1).group(2).run({1, 2, 3, 4}, {1, 2, 3, 4});
  EXPECT_EQ(y, (std::vector<float>{5, 25}));
  // Depthwise with multiplier 2 (group = C = 2, 4 outputs): out[c*2+m] = w[c*2+m] * x[c].
  y = ConvTester().input(2, 1, 1).output(4, 1, 1).kernel(1, 1).group(2).run({3, 5}, {1, 2, 3, 4});
  EXPECT_EQ(y, (std::vector<float>{3, 6, 15, 20}));
}

TEST(ConvF32, FusedActivations) {
  auto y = ConvTester().input(1, 1, 3).output(1, 1, 3).kernel(1, 1).run({-2, 3, 9}, {1}, {}, {Activation::Kind::relu});
  EXPECT_EQ(y, (std::vector<float>{0, 3, 9}));
  y = ConvTester().input(1, 1, 3).output(1, 1, 3).kernel(1, 1).run({-2, 3, 9}, {1}, {}, {Activation::Kind::clip, 0.f, 6.f});
  EXPECT_EQ(y, (std::vector<float>{0, 3, 6}));
}

TEST(GemmF32, TransposedBAndBroadcastBias) {
  // A = [[1,2,3],[4,5,6]], B^T stored as [[1,0,1],[0,1,0]] (N=2, K=3), C = [10, 20]:
  //   row 0: [1+3, 2] + C = [14, 22]; row 1: [4+6, 5] + C = [20, 25].
  GemmParams p;
  p.m = 2, p.n = 2, p.k = 3, p.trans_b = true, p.c_stride_m = 0, p.c_stride_n = 1;
  std::vector<float> y(4);
  gemm_f32(p, std::vector<float>{1, 2, 3, 4, 5, 6}, std::vector<float>{1, 0, 1, 0, 1, 0}, std::vector<float>{10, 20}, y);
  EXPECT_EQ(y, (std::vector<float>{14, 22, 20, 25}));
}

TEST(PoolF32, AverageExcludesPaddingUnlessAsked) {
  // 3x3 input 1..9, 2x2 window, stride 2, pads 0 before / 1 after ('same'):
  //   (0,0) = (1+2+4+5)/4 = 3; (0,1) = (3+6)/2 = 4.5; (1,0) = (7+8)/2 = 7.5; (1,1) = 9.
  Pool2DParams p;
  p.channels = 1, p.in_h = p.in_w = 3, p.out_h = p.out_w = 2, p.kernel_h = p.kernel_w = 2, p.stride_h = p.stride_w = 2;
  p.pad_bottom = p.pad_right = 1;
  std::vector<float> y(4);
  average_pool2d_f32(p, iota_from(9, 1), y);
  EXPECT_EQ(y, (std::vector<float>{3, 4.5f, 7.5f, 9}));
  p.count_include_pad = true;  // ONNX count_include_pad=1 divides by the full window: 9/4
  average_pool2d_f32(p, iota_from(9, 1), y);
  EXPECT_EQ(y, (std::vector<float>{3, 9.f / 4, 15.f / 4, 9.f / 4}));
}

TEST(PoolF32, MaxNeverSeesPadding) {
  Pool2DParams p;
  p.channels = 1, p.in_h = p.in_w = 2, p.out_h = p.out_w = 2, p.kernel_h = p.kernel_w = 2;
  p.pad_bottom = p.pad_right = 1;
  std::vector<float> y(4);
  max_pool2d_f32(p, std::vector<float>{-4, -3, -2, -1}, y);
  EXPECT_EQ(y, (std::vector<float>{-1, -1, -1, -1}));  // a zero pad would have won
}

TEST(PoolF32, GlobalAverage) {
  std::vector<float> y(2);
  global_average_pool_f32(2, 4, std::vector<float>{1, 2, 3, 4, 10, 10, 10, 14}, y);
  EXPECT_EQ(y, (std::vector<float>{2.5f, 11}));
}

TEST(ElementwiseF32, AddBroadcastsLikeNumpy) {
  // [2,3] + [3] and [2,1] + [1,3].
  std::vector<float> y(6);
  add_f32({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6}, {3}, std::vector<float>{10, 20, 30}, {2, 3}, y);
  EXPECT_EQ(y, (std::vector<float>{11, 22, 33, 14, 25, 36}));
  add_f32({2, 1}, std::vector<float>{1, 2}, {1, 3}, std::vector<float>{10, 20, 30}, {2, 3}, y);
  EXPECT_EQ(y, (std::vector<float>{11, 21, 31, 12, 22, 32}));
}

TEST(ElementwiseF32, Activations) {
  std::vector<float> y(3);
  relu_f32(std::vector<float>{-1, 0, 2}, y);
  EXPECT_EQ(y, (std::vector<float>{0, 0, 2}));
  clip_f32(std::vector<float>{-1, 3, 7}, 0, 6, y);
  EXPECT_EQ(y, (std::vector<float>{0, 3, 6}));
  sigmoid_f32(std::vector<float>{0, 2, -2}, y);
  EXPECT_FLOAT_EQ(y[0], 0.5f);
  EXPECT_NEAR(y[1], 0.880797077977882, 1e-7);
  EXPECT_NEAR(y[1] + y[2], 1.0, 1e-7);
  tanh_f32(std::vector<float>{0, 1, -1}, y);
  EXPECT_NEAR(y[1], 0.761594155955765, 1e-7);
}

TEST(SoftmaxF32, KnownValuesAndNoOverflow) {
  // softmax([1,2,3]) = e^(i-3) / (e^-2 + e^-1 + 1) = 0.09003057, 0.24472847, 0.66524096.
  std::vector<float> y(3);
  softmax_f32(1, 3, 1, std::vector<float>{1, 2, 3}, y);
  EXPECT_NEAR(y[0], 0.09003057, 1e-7);
  EXPECT_NEAR(y[1], 0.24472847, 1e-7);
  EXPECT_NEAR(y[2], 0.66524096, 1e-7);
  softmax_f32(1, 2, 1, std::vector<float>{1000, 1000}, y);
  EXPECT_FLOAT_EQ(y[0], 0.5f);
  // Axis 1 of a [1, 2, 2] tensor: pairs (x[0], x[2]) and (x[1], x[3]).
  std::vector<float> z(4);
  softmax_f32(1, 2, 2, std::vector<float>{0, 5, 0, 5}, z);
  EXPECT_EQ(z, (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}));
}

TEST(BatchNormF32, Formula) {
  // (x - mean) / sqrt(var + eps) * scale + bias with var + eps = 4: (5 - 1) / 2 * 3 + 1 = 7.
  BatchNormParams p;
  p.batch = 1, p.channels = 1, p.plane = 2, p.epsilon = 0.5f;
  std::vector<float> y(2);
  batchnorm_f32(p, std::vector<float>{5, 1}, std::vector<float>{3}, std::vector<float>{1}, std::vector<float>{1},
                std::vector<float>{3.5f}, y);
  EXPECT_EQ(y, (std::vector<float>{7, 1}));
}

TEST(LayoutKernels, TransposeNchwToNhwc) {
  // [1, 2, 2, 2] NCHW -> NHWC: channel becomes the fastest axis.
  const std::vector<float> x{0, 1, 2, 3, 10, 11, 12, 13};
  std::vector<float> y(8);
  transpose({1, 2, 2, 2}, {0, 2, 3, 1}, sizeof(float), std::as_bytes(std::span(x)), std::as_writable_bytes(std::span(y)));
  EXPECT_EQ(y, (std::vector<float>{0, 10, 1, 11, 2, 12, 3, 13}));
}

TEST(LayoutKernels, PadConstant) {
  // [1, 1, 1, 2] padded with top 1, left 0, bottom 0, right 1 and fill 9:
  //   [[9, 9, 9], [1, 2, 9]].
  const std::vector<float> x{1, 2}, fill{9};
  std::vector<float> y(6);
  pad_constant({1, 1, 1, 2}, {0, 0, 1, 0, 0, 0, 0, 1}, std::as_bytes(std::span(fill)), std::as_bytes(std::span(x)),
               std::as_writable_bytes(std::span(y)));
  EXPECT_EQ(y, (std::vector<float>{9, 9, 9, 1, 2, 9}));
}

}  // namespace
}  // namespace tinyq::kernels
