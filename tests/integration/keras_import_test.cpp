// The Keras importer against TensorFlow.js (the Keras-semantics judge) on
// small generated models covering every supported layer, and against broken
// files that must give clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <cmath>
#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "core/npy.h"
#include "importers/hdf5_sandbox.h"
#include "importers/keras_h5.h"
#include "kernels/reference/layout.h"
#include "passes/optimize.h"
#include "runtime/executor.h"

namespace tinyq {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const fs::path kFixtures = TINYQ_KERAS_FIXTURES;

std::vector<std::string> generated_models() {
  std::ifstream in(kFixtures / "models.txt");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

// Keras feeds NHWC; the IR takes NCHW.
Tensor to_ir_layout(const Tensor& keras) {
  if (keras.shape().size() != 4) return keras;
  const Shape& s = keras.shape();
  Tensor out(DType::f32, {s[0], s[3], s[1], s[2]});
  kernels::transpose(s, {0, 3, 1, 2}, sizeof(float), keras.bytes(), out.bytes());
  return out;
}

class KerasVsTfjs : public ::testing::TestWithParam<std::string> {};

TEST_P(KerasVsTfjs, OutputsAgree) {
  const fs::path dir = kFixtures / GetParam();
  const Tensor input = to_ir_layout(read_npy(dir / "input_keras.npy"));
  const Tensor expected = read_npy(dir / "expected_keras.npy");
  for (bool optimized : {false, true}) {
    ir::Graph graph = importers::import_keras_h5(dir / "model.h5");
    if (optimized) passes::optimize_for_inference(graph);
    const runtime::Executor executor(std::move(graph));
    const Tensor got = executor.run({input}).at(0);
    ASSERT_EQ(got.shape(), expected.shape()) << GetParam();
    double max_diff = 0;
    const auto g = got.data<float>(), e = expected.data<float>();
    for (std::size_t i = 0; i < g.size(); ++i) {
      const double diff = std::abs(double(g[i]) - double(e[i]));
      max_diff = std::max(max_diff, diff);
      ASSERT_LE(diff, 1e-5 + 1e-5 * std::abs(e[i])) << GetParam() << (optimized ? " (optimized)" : "") << " element " << i
                                                   << ": tinyq " << g[i] << " vs TensorFlow.js " << e[i];
    }
    std::printf("%-16s %-9s max |tinyq - tfjs| = %.3g\n", GetParam().c_str(), optimized ? "optimized" : "imported", max_diff);
  }
}

// The parameterized cases below come from the fixture list: if it were
// missing, they would vanish silently, so its presence is a test of its own.
TEST(KerasImport, FixtureModelsWereGenerated) {
  const auto names = generated_models();
  EXPECT_GE(names.size(), 8u) << "expected the generated Keras models in " << kFixtures;
  EXPECT_NE(std::find(names.begin(), names.end(), "sequential_cnn"), names.end());
}

INSTANTIATE_TEST_SUITE_P(GeneratedModels, KerasVsTfjs, ::testing::ValuesIn(generated_models()),
                         [](const auto& info) { return info.param; });

TEST(KerasImport, FlattenBeforeDenseUsesKerasOrder) {
  // Identity Dense after Flatten of a 2x3x2 NHWC tensor: by hand, output k is
  // the k-th element of the NHWC input in row-major order.
  const Tensor keras_input = read_npy(kFixtures / "flatten_order" / "input_keras.npy");
  ir::Graph graph = importers::import_keras_h5(kFixtures / "flatten_order" / "model.h5");
  for (const auto& node : graph.nodes()) EXPECT_NE(node.op_type, "Transpose") << "no layout Transpose is needed";
  const runtime::Executor executor(std::move(graph));
  const Tensor y = executor.run({to_ir_layout(keras_input)}).at(0);
  const auto k = keras_input.data<float>(), out = y.data<float>();
  ASSERT_EQ(out.size(), k.size());
  for (std::size_t i = 0; i < k.size(); ++i) EXPECT_EQ(out[i], k[i]) << "element " << i;
}

TEST(KerasImport, NamesFollowKerasLayers) {
  const ir::Graph graph = importers::import_keras_h5(kFixtures / "residual" / "model.h5");
  ASSERT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.value(graph.inputs()[0]).name, "input");
  EXPECT_EQ(graph.value(graph.outputs()[0]).name, "output");
  EXPECT_TRUE(graph.find_value("branch_s2").has_value());
  EXPECT_TRUE(graph.find_value("shortcut_s2/weight").has_value());
}

struct MalformedCase {
  std::string file;
  std::vector<std::string> message_parts;
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.file; }

class MalformedKeras : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedKeras, ClearError) {
  const fs::path path = kFixtures / "malformed" / GetParam().file;
  try {
    importers::import_keras_h5(path);
    FAIL() << GetParam().file << " was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().file));
    for (const auto& part : GetParam().message_parts) EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Files, MalformedKeras,
    ::testing::Values(MalformedCase{"truncated.h5", {"truncated"}},
                      MalformedCase{"not_hdf5.h5", {"not an HDF5 file"}},
                      MalformedCase{"missing_weight.h5", {"layer 'conv'", "weight 'kernel'", "missing weight dataset"}},
                      MalformedCase{"wrong_shape.h5", {"layer 'conv'", "[3,3,3,7]", "expected [3,3,3,8]"}},
                      MalformedCase{"unknown_layer.h5", {"layer 'relu'", "LSTM", "not supported"}},
                      MalformedCase{"cyclic.h5", {"cyclic inbound_nodes"}},
                      MalformedCase{"absurd_filters.h5", {"layer 'conv'", "filters"}},
                      MalformedCase{"absurd_dataset.h5", {"layer 'dense'", "[1048576,1048576]", "expected [32,10]"}},
                      MalformedCase{"absurd_input.h5", {"input_1", "batch_input_shape"}},
                      MalformedCase{"unsupported_option.h5", {"layer 'conv'", "padding='causal'"}},
                      MalformedCase{"no_config.h5", {"model_config"}}),
    [](const auto& info) {
      std::string name = info.param.file.substr(0, info.param.file.find('.'));
      return name;
    });

// libhdf5 runs in a child process: when it dies, the importer reports it.
TEST(Hdf5Sandbox, ReaderDeathBecomesAClearError) {
  const fs::path path = kFixtures / "residual" / "model.h5";
  importers::SandboxedHdf5File file(path);
  EXPECT_TRUE(file.exists("/model_weights"));
  ASSERT_GT(file.reader_pid(), 0);
  ::kill(file.reader_pid(), SIGSEGV);
  try {
    file.exists("/model_weights/conv");
    FAIL() << "a dead reader answered";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string() + ": libhdf5 crashed (signal 11"));
    EXPECT_THAT(e.what(), HasSubstr("reading '/model_weights/conv'"));
  }
}

// An input the .h5 fuzzer found: libhdf5 reads freed memory while looking up
// the model_config attribute. Whatever libhdf5 does with it, tinyq answers
// with an Error naming the file, every time.
TEST(Hdf5Sandbox, UseAfterFreeInLibhdf5IsContained) {
  const fs::path path = fs::path(TINYQ_FUZZ_INPUTS) / "hdf5_attribute_use_after_free.h5";
  for (int attempt = 0; attempt < 10; ++attempt) {
    try {
      importers::import_keras_h5(path);
      FAIL() << "a damaged file was accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(path.string()));
    }
  }
}

}  // namespace
}  // namespace tinyq
