#pragma once
// The quantized-operations reference of a model: every node in execution
// order with its tensors and attributes, and for each quantized op the numbers
// a hardware designer needs (scales, zero points, effective multipliers and
// their integer-only form, accumulator bounds, weight statistics).
// Schema: docs/operations-reference.md.
#include <nlohmann/json.hpp>

#include "ir/graph.h"

namespace tinyq::inspect {

// `graph` should be the fused (QOperator) form, as ONNX Runtime runs it.
nlohmann::json describe_operations(const ir::Graph& graph);

// The human table of `tinyq ops`.
std::string operations_table(const nlohmann::json& operations);

}  // namespace tinyq::inspect
