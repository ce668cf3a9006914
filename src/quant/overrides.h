#pragma once
// Per-layer and per-tensor quantization overrides: what the playground edits
// and `tinyq quantize --overrides FILE.json` replays. The JSON schema is
// documented in docs/overrides.md; its tensor part reads ONNX Runtime's
// TensorQuantOverrides form ({"tensor": [{"rmin": .., "rmax": .., "symmetric": ..}]})
// where the concepts match.
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "quant/calibration.h"

namespace tinyq::quant {

// How one activation tensor is quantized, where it differs from the scheme.
struct TensorOverride {
  std::optional<CalibrationMethod> method;
  std::optional<Range> range;        // explicit [rmin, rmax] instead of calibrating
  std::optional<double> range_scale; // multiplies the chosen range (> 0): < 1 clips more, > 1 less
  std::optional<int> bits;           // 2..8: codes confined to a narrower range of the 8-bit type
  std::optional<bool> symmetric;
  bool empty() const { return !method && !range && !range_scale && !bits && !symmetric; }
};

// A layer: a quantized node of the prepared graph (Conv, Add, pooling), by name.
struct LayerOverride {
  bool keep_float = false;          // run this node in float between DequantizeLinear and QuantizeLinear
  std::optional<bool> per_channel;  // its weights' granularity
  std::optional<int> weight_bits;   // 2..8
  TensorOverride output;            // its output activation
  bool empty() const { return !keep_float && !per_channel && !weight_bits && output.empty(); }
};

struct Overrides {
  std::map<std::string, LayerOverride> layers;   // by node name
  std::map<std::string, TensorOverride> tensors; // by float tensor name (e.g. the graph input)
  bool empty() const { return layers.empty() && tensors.empty(); }
};

// Parses and validates (types, ranges, unknown keys); errors name `source`
// and the offending field. Names are checked against the model in build().
Overrides overrides_from_json(const nlohmann::json& j, const std::string& source);
Overrides read_overrides(const std::string& path);
nlohmann::json overrides_to_json(const Overrides& o);

CalibrationMethod parse_calibration_method(const std::string& name);
const char* calibration_method_name(CalibrationMethod method);

}  // namespace tinyq::quant
