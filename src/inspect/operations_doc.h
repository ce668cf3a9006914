#pragma once
// QUANTIZATION_OPERATIONS.md for one model, generated from its operation
// reference (inspect/operations.h): the equations, a parameter table with a
// row per quantized node, the graph picture, how scales and zero points flow
// through the residual adds, and integer-only pseudocode for one QLinearConv
// output element with the model's own numbers.
#include <string>

#include <nlohmann/json.hpp>

namespace tinyq::inspect {

std::string quantization_operations_markdown(const nlohmann::json& operations, const std::string& graph_picture);

}  // namespace tinyq::inspect
