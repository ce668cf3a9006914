#pragma once
// The comparison report of `tinyq compare`: Markdown for people, JSON for
// tools, and an SVG bar chart of the accuracies.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tinyq::eval {

struct LayerError {
  std::string tensor;
  double sqnr_db = 0;  // 10 log10(sum f^2 / sum (f - dq)^2)
  double cosine = 0;
};

struct SchemeResult {
  std::string id;           // file stem, e.g. "minmax_per-channel_u8"
  std::string description;  // human words
  std::string file;
  double accuracy_float_requant = 0, accuracy_fixed_requant = 0;     // full test set, percent
  double perf200_float_requant = 0, perf200_fixed_requant = 0;
  std::optional<double> onnxruntime_accuracy;                        // the same file run by ONNX Runtime
  std::vector<std::string> float_nodes;
  std::vector<LayerError> layers;
};

struct ComparisonReport {
  std::string model;
  std::size_t calibration_images = 0;
  std::string calibration_source;
  double fp32_accuracy = 0, fp32_perf200 = 0;
  std::vector<SchemeResult> schemes;
  std::optional<double> pytorch_accuracy, pytorch_perf200;
  std::string pytorch_note, onnxruntime_note;
  double tflite_reported = 87.0, tflite_measured = 86.97;  // MLPerf Tiny's int8 .tflite (quoted, not run here)
};

std::string report_markdown(const ComparisonReport& r);
nlohmann::json report_json(const ComparisonReport& r);
std::string report_svg(const ComparisonReport& r);

// Layer-wise error of dequantized int8 activations against float ones.
LayerError layer_error(const std::string& tensor, const std::vector<float>& reference, const std::vector<float>& approx);

}  // namespace tinyq::eval
