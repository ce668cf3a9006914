// Graph structure, shape inference, the verifier and the inference passes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "kernels/cpu_features.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activation.h"
#include "passes/fuse_residual_add.h"
#include "runtime/executor.h"

namespace tinyq::ir {
namespace {

using ::testing::HasSubstr;

Tensor filled(Shape shape, std::vector<float> values) { return Tensor::from<float>(std::move(shape), values); }

ValueId add(Graph& g, const std::string& op, const std::string& name, std::vector<ValueId> inputs,
            std::map<std::string, Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.attributes = std::move(attrs);
  std::vector<TensorType> types;
  for (ValueId id : n.inputs) types.push_back({g.value(id).dtype, g.value(id).shape});
  const auto out = infer_node_types(g, n, types);
  n.outputs.push_back(g.add_value(name, out[0].dtype, out[0].shape));
  g.add_node(n);
  return n.outputs[0];
}

// x[N,1,2,2] -> Conv(1x1, w=2, b=1) -> BN(scale 3, bias 1, mean 1, var 3.75, eps .25) -> Relu
Graph conv_bn_relu() {
  Graph g;
  g.name = "t";
  ValueId x = g.add_input("x", DType::f32, {kBatch, 1, 2, 2});
  ValueId c = add(g, "Conv", "conv", {x, g.add_initializer("w", filled({1, 1, 1, 1}, {2})), g.add_initializer("b", filled({1}, {1}))},
                  {{"kernel_shape", std::vector<std::int64_t>{1, 1}}});
  ValueId bn = add(g, "BatchNormalization", "bn",
                   {c, g.add_initializer("s", filled({1}, {3})), g.add_initializer("bb", filled({1}, {1})),
                    g.add_initializer("m", filled({1}, {1})), g.add_initializer("v", filled({1}, {3.75f}))},
                   {{"epsilon", 0.25f}});
  g.mark_output(add(g, "Relu", "relu", {bn}));
  return g;
}

TEST(ShapeInference, ConvKeepsSymbolicBatch) {
  Graph g = conv_bn_relu();
  EXPECT_EQ(g.value(*g.find_value("relu")).shape, (Shape{kBatch, 1, 2, 2}));
  EXPECT_NO_THROW(verify(g));
}

TEST(ShapeInference, ReportsNodeAndMismatch) {
  Graph g;
  ValueId x = g.add_input("x", DType::f32, {kBatch, 3, 8, 8});
  ValueId w = g.add_initializer("w", Tensor(DType::f32, {4, 2, 3, 3}));  // expects 2 input channels
  try {
    add(g, "Conv", "bad_conv", {x, w});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad_conv"));
    EXPECT_THAT(e.what(), HasSubstr("input channels"));
  }
}

TEST(Verifier, DanglingInput) {
  Graph g;
  g.name = "dangling";
  ValueId x = g.add_input("x", DType::f32, {kBatch, 4});
  ValueId ghost = g.add_value("ghost", DType::f32, {kBatch, 4});
  Node n{"sum", "Add", "", {x, ghost}, {}, {}, ""};
  n.outputs.push_back(g.add_value("y", DType::f32, {kBatch, 4}));
  g.add_node(n);
  g.mark_output(n.outputs[0]);
  try {
    verify(g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'ghost'"));
    EXPECT_THAT(e.what(), HasSubstr("dangling"));
  }
}

TEST(Verifier, CycleIsNamed) {
  Graph g;
  g.name = "loop";
  ValueId x = g.add_input("x", DType::f32, {kBatch, 4});
  ValueId a = g.add_value("a", DType::f32, {kBatch, 4});
  ValueId b = g.add_value("b", DType::f32, {kBatch, 4});
  g.add_node(Node{"first", "Add", "", {x, b}, {a}, {}, ""});
  g.add_node(Node{"second", "Relu", "", {a}, {b}, {}, ""});
  g.mark_output(b);
  EXPECT_THROW(verify(g), Error);
  try {
    sort_topologically(g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cycle"));
    EXPECT_THAT(e.what(), HasSubstr("'first'"));
  }
}

TEST(Verifier, DeclaredShapeMustMatch) {
  Graph g = conv_bn_relu();
  g.value(*g.find_value("bn")).shape = {kBatch, 1, 3, 3};
  try {
    verify(g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'bn'"));
    EXPECT_THAT(e.what(), HasSubstr("[N,1,3,3]"));
  }
}

TEST(Verifier, SortRestoresOrder) {
  Graph g = conv_bn_relu();
  std::swap(g.nodes()[0], g.nodes()[2]);
  EXPECT_THROW(verify(g), Error);
  sort_topologically(g);
  EXPECT_NO_THROW(verify(g));
  EXPECT_EQ(g.nodes()[0].name, "conv");
}

TEST(Passes, FoldBatchNormThenFuseRelu) {
  Graph g = conv_bn_relu();
  // Hand value for x = 1: conv 2*1+1 = 3; BN (3-1)/sqrt(4)*3+1 = 4; relu 4.
  // For x = -2: conv -3; BN (-3-1)/2*3+1 = -5; relu 0.
  EXPECT_EQ(passes::fold_batchnorm(g), 1);
  EXPECT_EQ(passes::fuse_activation(g), 1);
  ASSERT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.nodes()[0].op_type, "FusedConv");
  EXPECT_EQ(g.nodes()[0].domain, "com.microsoft");
  // Folded weight 2 * 3/2 = 3, bias (1 - 1) * 3/2 + 1 = 1.
  EXPECT_FLOAT_EQ(g.initializer(g.nodes()[0].inputs[1]).data<float>()[0], 3.f);
  EXPECT_FLOAT_EQ(g.initializer(g.nodes()[0].inputs[2]).data<float>()[0], 1.f);
  runtime::Executor exec(std::move(g));
  const auto y = exec.run({filled({1, 1, 2, 2}, {1, -2, 0, 2})}).at(0);
  const auto v = y.data<float>();
  EXPECT_FLOAT_EQ(v[0], 4.f);
  EXPECT_FLOAT_EQ(v[1], 0.f);
  EXPECT_FLOAT_EQ(v[2], 1.f);   // conv 1 -> BN (1-1)/2*3+1 = 1
  EXPECT_FLOAT_EQ(v[3], 7.f);   // conv 5 -> BN (5-1)/2*3+1 = 7
}

// x[N,1,2,2] -> Conv(1x1, w=2, b=1) -> Add(., x) -> Relu: a residual block's join.
Graph residual_join(bool bias = true) {
  Graph g;
  g.name = "t";
  ValueId x = g.add_input("x", DType::f32, {kBatch, 1, 2, 2});
  std::vector<ValueId> conv_inputs = {x, g.add_initializer("w", filled({1, 1, 1, 1}, {2}))};
  if (bias) conv_inputs.push_back(g.add_initializer("b", filled({1}, {1})));
  ValueId c = add(g, "Conv", "conv", conv_inputs, {{"kernel_shape", std::vector<std::int64_t>{1, 1}}});
  ValueId sum = add(g, "Add", "add", {c, x});
  g.mark_output(add(g, "Relu", "relu", {sum}));
  return g;
}

TEST(Passes, FuseResidualAddIntoConv) {
  Graph g = residual_join();
  EXPECT_EQ(passes::fuse_residual_add(g), 1);
  ASSERT_EQ(g.nodes().size(), 1u);
  const Node& fused = g.nodes()[0];
  EXPECT_EQ(fused.op_type, "FusedConv");
  EXPECT_EQ(fused.name, "conv");
  EXPECT_EQ(fused.attr_string("activation", ""), "Relu");
  ASSERT_EQ(fused.inputs.size(), 4u);
  EXPECT_EQ(fused.inputs[3], g.inputs()[0]);  // the sum input is x
  EXPECT_NO_THROW(verify(g));
  // Hand values: relu(2x + 1 + x) = relu(3x + 1), on both kernel paths.
  for (auto kernels : {kernels::KernelPolicy::reference, kernels::KernelPolicy::auto_select}) {
    runtime::OpOptions options;
    options.kernels = kernels;
    runtime::Executor exec(g, options);
    const auto y = exec.run({filled({1, 1, 2, 2}, {1, -2, 0, -0.25f})}).at(0);
    const auto v = y.data<float>();
    EXPECT_FLOAT_EQ(v[0], 4.f);
    EXPECT_FLOAT_EQ(v[1], 0.f);
    EXPECT_FLOAT_EQ(v[2], 1.f);
    EXPECT_FLOAT_EQ(v[3], 0.25f);
  }
}

TEST(Passes, FuseResidualAddLeavesWhatOthersRead) {
  Graph read_twice = residual_join();
  read_twice.mark_output(read_twice.nodes()[1].outputs[0]);  // the sum is also a graph output
  EXPECT_EQ(passes::fuse_residual_add(read_twice), 0);
  Graph unbiased = residual_join(false);  // no bias: the sum would not be the fourth input
  EXPECT_EQ(passes::fuse_residual_add(unbiased), 0);
  EXPECT_EQ(unbiased.nodes().size(), 3u);
}

// Grouped convolutions that are not depthwise (Keras groups; a depth
// multiplier of 2) run on the fast kernels one group at a time: float within
// 1e-5 of the reference kernels, quantized (per-channel scales, both
// requantization rules) equal to them.
TEST(Executor, GroupedConvolutionsMatchTheReference) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  struct Case {
    std::int64_t in, out, group;
  };
  for (const Case c : {Case{4, 6, 2}, Case{3, 6, 3}}) {
    SCOPED_TRACE("in " + std::to_string(c.in) + " out " + std::to_string(c.out) + " group " + std::to_string(c.group));
    const std::map<std::string, Attribute> attrs = {{"kernel_shape", std::vector<std::int64_t>{3, 3}},
                                                    {"pads", std::vector<std::int64_t>{1, 1, 1, 1}},
                                                    {"group", c.group}};
    // Float.
    Graph f;
    f.name = "grouped";
    Tensor w(DType::f32, {c.out, c.in / c.group, 3, 3}), b(DType::f32, {c.out});
    for (auto& v : w.data<float>()) v = u(rng);
    for (auto& v : b.data<float>()) v = u(rng);
    ValueId x = f.add_input("x", DType::f32, {kBatch, c.in, 9, 20});
    f.mark_output(add(f, "Conv", "conv", {x, f.add_initializer("w", w), f.add_initializer("b", b)}, attrs));
    Tensor image(DType::f32, {2, c.in, 9, 20});
    for (auto& v : image.data<float>()) v = u(rng);
    std::vector<Tensor> outputs;
    for (auto kernels : {kernels::KernelPolicy::reference, kernels::KernelPolicy::auto_select}) {
      runtime::OpOptions options;
      options.kernels = kernels;
      const runtime::Executor exec(f, options);
      if (kernels != kernels::KernelPolicy::reference && kernels::cpu_features().avx2) {
        EXPECT_NE(exec.kernel_names()[0], "reference");
      }
      outputs.push_back(exec.run({image}).at(0));
    }
    for (std::size_t i = 0; i < outputs[0].element_count(); ++i)
      ASSERT_NEAR(outputs[1].data<float>()[i], outputs[0].data<float>()[i], 1e-5f * std::max(1.f, std::abs(outputs[0].data<float>()[i])));
    // Quantized: u8 activations, s8 weights with per-channel scales.
    Graph q;
    q.name = "grouped_q";
    Tensor wq(DType::s8, {c.out, c.in / c.group, 3, 3}), bq(DType::s32, {c.out}), ws(DType::f32, {c.out}), wz(DType::s8, {c.out});
    for (auto& v : wq.data<std::int8_t>()) v = static_cast<std::int8_t>(rng());
    for (auto& v : bq.data<std::int32_t>()) v = static_cast<std::int32_t>(rng() % 4001) - 2000;
    for (auto& v : ws.data<float>()) v = 0.002f + 0.001f * static_cast<float>(rng() % 8);
    auto scalar = [&](const std::string& name, DType t, double v) {
      Tensor s(t, {});
      if (t == DType::f32) s.data<float>()[0] = static_cast<float>(v);
      else s.data<std::uint8_t>()[0] = static_cast<std::uint8_t>(v);
      return q.add_initializer(name, s);
    };
    ValueId xq = q.add_input("x", DType::u8, {kBatch, c.in, 9, 20});
    q.mark_output(add(q, "QLinearConv", "conv",
                      {xq, scalar("xs", DType::f32, 0.05), scalar("xz", DType::u8, 7), q.add_initializer("w", wq), q.add_initializer("ws", ws),
                       q.add_initializer("wz", wz), scalar("ys", DType::f32, 0.04), scalar("yz", DType::u8, 120), q.add_initializer("b", bq)},
                      attrs));
    Tensor codes(DType::u8, {2, c.in, 9, 20});
    for (auto& v : codes.data<std::uint8_t>()) v = static_cast<std::uint8_t>(rng());
    for (auto mode : {kernels::RequantMode::float_multiplier, kernels::RequantMode::fixed_point}) {
      std::vector<Tensor> results;
      for (auto kernels : {kernels::KernelPolicy::reference, kernels::KernelPolicy::auto_select, kernels::KernelPolicy::avx2_only}) {
        runtime::OpOptions options;
        options.kernels = kernels;
        options.requant = mode;
        const runtime::Executor exec(q, options);
        if (kernels != kernels::KernelPolicy::reference && kernels::cpu_features().avx2) {
        EXPECT_NE(exec.kernel_names()[0], "reference");
      }
        results.push_back(exec.run({codes}).at(0));
      }
      const auto ref = results[0].data<std::uint8_t>();
      EXPECT_TRUE(std::equal(ref.begin(), ref.end(), results[1].data<std::uint8_t>().begin())) << "auto kernels";
      EXPECT_TRUE(std::equal(ref.begin(), ref.end(), results[2].data<std::uint8_t>().begin())) << "avx2 kernels";
    }
  }
}

TEST(Executor, TapsAnyTensorAndChecksInputs) {
  runtime::Executor exec(conv_bn_relu());
  const auto taps = exec.run_with_taps({filled({1, 1, 2, 2}, {1, -2, 0, 2})}, {"conv", "bn"});
  EXPECT_FLOAT_EQ(taps.at("conv").data<float>()[0], 3.f);
  EXPECT_FLOAT_EQ(taps.at("bn").data<float>()[1], -5.f);
  EXPECT_THROW(exec.run_with_taps({filled({1, 1, 2, 2}, {0, 0, 0, 0})}, {"nope"}), Error);
  try {
    exec.run({filled({1, 2, 2, 1}, {0, 0, 0, 0})});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("input 'x'"));
  }
}

}  // namespace
}  // namespace tinyq::ir
