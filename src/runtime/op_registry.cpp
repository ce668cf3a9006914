#include "runtime/op_registry.h"

#include <map>
#include <string>

#include "core/error.h"
#include "runtime/ops/ops.h"

namespace tinyq::runtime {

PrepareFn find_op(const ir::Node& node) {
  static const std::map<std::string, PrepareFn> table = {
      {"Conv", ops::prepare_conv},
      {"com.microsoft:FusedConv", ops::prepare_conv},
      {"Gemm", ops::prepare_gemm},
      {"MatMul", ops::prepare_matmul},
      {"AveragePool", ops::prepare_average_pool},
      {"MaxPool", ops::prepare_max_pool},
      {"GlobalAveragePool", ops::prepare_global_average_pool},
      {"ReduceMean", ops::prepare_global_average_pool},  // over axes [2, 3] only (shape inference checks)
      {"Relu", ops::prepare_relu},
      {"Clip", ops::prepare_clip},
      {"Sigmoid", ops::prepare_sigmoid},
      {"Tanh", ops::prepare_tanh},
      {"Add", ops::prepare_add},
      {"BatchNormalization", ops::prepare_batchnorm},
      {"Softmax", ops::prepare_softmax},
      {"Flatten", ops::prepare_copy},
      {"Reshape", ops::prepare_copy},
      {"Identity", ops::prepare_copy},
      {"Transpose", ops::prepare_transpose},
      {"Pad", ops::prepare_pad},
      {"QuantizeLinear", ops::prepare_quantize_linear},
      {"DequantizeLinear", ops::prepare_dequantize_linear},
      {"QLinearConv", ops::prepare_qlinear_conv},
      {"QLinearMatMul", ops::prepare_qlinear_matmul},
      {"com.microsoft:QLinearAdd", ops::prepare_qlinear_add},
      {"com.microsoft:QLinearGlobalAveragePool", ops::prepare_qlinear_global_average_pool},
      {"com.microsoft:QLinearSoftmax", ops::prepare_qlinear_softmax},
      {"com.microsoft:QLinearAveragePool", ops::prepare_qlinear_average_pool},
      // The mean over height and width: QLinearGlobalAveragePool's arithmetic, TFLite MEAN's rounding (see there).
      {"com.microsoft:QLinearReduceMean", ops::prepare_qlinear_global_average_pool},
  };
  const std::string key = node.domain.empty() ? node.op_type : node.domain + ":" + node.op_type;
  auto it = table.find(key);
  if (it == table.end()) throw Error("node '" + node.name + "': no kernel for operator " + key);
  return it->second;
}

}  // namespace tinyq::runtime
