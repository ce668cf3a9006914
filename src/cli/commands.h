#pragma once
// One subcommand a file; each registers its options and callback on the app.
// The CLI holds no logic beyond parsing arguments and printing results.
#include <CLI/CLI.hpp>

#include <string>

#include "eval/cifar10.h"
#include "quant/quantizer.h"
#include "runtime/op_registry.h"

namespace tinyq::cli {

void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_ops_command(CLI::App& app);
void add_graph_command(CLI::App& app);
void add_golden_command(CLI::App& app);
void add_doc_command(CLI::App& app);
void add_fetch_command(CLI::App& app);
void add_serve_command(CLI::App& app);

// A model as it runs: QDQ fused into QOperator form.
ir::Graph load_as_run(const std::string& model);

// Quantization options as the CLI takes them (quantize, compare).
struct QuantizeCliOptions {
  std::string model, out, format = "qdq", method = "minmax", act = "u8", weight = "s8";
  bool per_channel = false, symmetric_act = false, reduce_range = false, moving_average = false;
  double percentile = 99.999;
  std::string calib_data, calib_indices, save_calib_indices, overrides;
  std::size_t calib_count = 1000;
  std::uint32_t calib_seed = 0;
  unsigned threads = 0;
  std::string kernels = "auto";
};
struct CalibrationImages {
  eval::LabeledImages images;
  std::string source;
};
struct QuantizedModel {
  quant::QuantizeOptions options;
  quant::QuantizationResult result;
  std::size_t calibration_count = 0;
  std::string calibration_source;
};
// --requant auto|float|fixed|tflite and --kernels auto|avx2|avx512-emulated|reference as executor
// options; `model` decides what auto means.
runtime::OpOptions op_options(const std::string& requant, const std::string& kernels = "auto", const std::string& model = "");
std::string requant_name(kernels::RequantMode mode);
extern const char* const kRequantHelp;
void add_kernels_option(CLI::App* cmd, std::string& kernels);

void add_quantization_options(CLI::App* cmd, QuantizeCliOptions& options);
quant::QuantizeOptions to_quantize_options(const QuantizeCliOptions& options);
CalibrationImages load_calibration_images(const QuantizeCliOptions& options);
QuantizedModel quantize_from_cli(const QuantizeCliOptions& options);

// Shared formatting: 12501632 -> "12,501,632".
std::string with_commas(std::int64_t value);

}  // namespace tinyq::cli
