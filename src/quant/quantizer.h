#pragma once
// Post-training static quantization. The float graph is prepared (BatchNorm
// folded, ReLU fused into its producer, pooling and classifier put in forms
// with exact integer kernels), calibrated on real images, and written as a
// QDQ graph: QuantizeLinear / DequantizeLinear around float ops, with int8
// weights and int32 biases as constants. to_qoperator() fuses it into
// QLinearConv / QLinearAdd / ... exactly as ONNX Runtime does before running it.
#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/cpu_features.h"
#include "quant/calibration.h"
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
};

struct QuantizationResult {
  ir::Graph qdq;
  std::vector<TensorQuantization> tensors;
  std::vector<std::string> float_nodes;  // "name (op): why it stays float"
};

// The float graph the quantizer works on (and calibrates).
ir::Graph prepare_for_quantization(ir::Graph graph);

QuantizationResult quantize(const ir::Graph& float_graph, const CalibrationSource& images, std::size_t image_count,
                            const QuantizeOptions& options);

ir::Graph to_qoperator(ir::Graph qdq);

std::string describe(const QuantizeOptions& options);

}  // namespace tinyq::quant
