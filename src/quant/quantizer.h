#pragma once
// Post-training static quantization. The float graph is prepared (BatchNorm
// folded, ReLU fused into its producer, pooling and classifier put in forms
// with exact integer kernels), calibrated on real images, and written as a
// QDQ graph: QuantizeLinear / DequantizeLinear around float ops, with int8
// weights and int32 biases as constants. to_qoperator() fuses it into
// QLinearConv / QLinearAdd / ... exactly as ONNX Runtime does before running it.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/cpu_features.h"
#include "quant/calibration.h"
#include "quant/overrides.h"
#include "quant/qparams.h"

namespace tinyq::quant {

struct QuantizeOptions {
  CalibrationOptions calibration;
  DType activation = DType::u8;
  bool symmetric_activation = false;
  DType weight = DType::s8;
  bool per_channel = false;
  bool reduce_range = false;
  std::size_t batch = 100;
  unsigned threads = 1;
  kernels::KernelPolicy kernels = kernels::KernelPolicy::auto_select;  // for the calibration passes
};

// Calibration images in batches: returns the f32 input for images [begin, begin + count).
using CalibrationSource = std::function<Tensor(std::size_t begin, std::size_t count)>;

struct TensorQuantization {
  std::string name;
  Range observed;  // exact min and max over the calibration set
  Range chosen;    // what the calibrator kept
  QuantParams params;
  IntRange codes;  // the integer codes it may take (narrower than the type below 8 bits)
  int bits = 8;
};

// A node of the prepared graph that the scheme quantizes (or was told to keep in float).
struct LayerQuantization {
  std::string node, op_type;
  std::vector<std::string> inputs;  // float tensors read (activations)
  std::string output;               // float tensor whose params its output takes
  bool kept_float = false;
  std::optional<QuantParams> weight;  // Conv weights
  int weight_bits = 8;
};

struct QuantizationResult {
  ir::Graph qdq;
  std::vector<TensorQuantization> tensors;
  std::vector<LayerQuantization> layers;  // in node order
  std::vector<std::string> float_nodes;  // "name (op): why it stays float"
};

// The float graph the quantizer works on (and calibrates).
ir::Graph prepare_for_quantization(ir::Graph graph);

// Quantization in two steps: calibrate() makes the one pass over the images
// and records, per float tensor of the prepared graph, an observer (min/max,
// moving average, |x| histogram); build() then chooses every range from those
// records for any scheme (method, granularity, types) without touching an
// image again. quantize() is the two in a row.
struct CalibrateOptions {
  int bins = 2048;                  // histogram resolution (build() needs the same)
  double averaging_constant = 0.01;
  std::size_t batch = 100;
  unsigned threads = 1;
  kernels::KernelPolicy kernels = kernels::KernelPolicy::auto_select;
};
struct Calibration {
  ir::Graph prepared;  // prepare_for_quantization() of the float graph
  std::map<std::string, TensorObserver> observers;  // by tensor name
  std::size_t image_count = 0;
  int bins = 0;
  double averaging_constant = 0;
};
Calibration calibrate(const ir::Graph& float_graph, const CalibrationSource& images, std::size_t image_count,
                      const CalibrateOptions& options);
// Overrides (per layer, per tensor) are applied on top of the scheme; a name
// that is not in the prepared graph is an Error.
QuantizationResult build(const Calibration& calibration, const QuantizeOptions& options, const Overrides& overrides = {});
CalibrateOptions calibrate_options(const QuantizeOptions& options);

QuantizationResult quantize(const ir::Graph& float_graph, const CalibrationSource& images, std::size_t image_count,
                            const QuantizeOptions& options, const Overrides& overrides = {});

ir::Graph to_qoperator(ir::Graph qdq);

std::string describe(const QuantizeOptions& options);

}  // namespace tinyq::quant
