// Quantization options shared by `quantize` and `compare`: the scheme, the
// calibration method and the calibration set.
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/assets.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "eval/calibration_set.h"
#include "importers/load_model.h"

namespace tinyq::cli {

void add_quantization_options(CLI::App* cmd, QuantizeCliOptions& o) {
  cmd->add_option("--format", o.format, "qdq or qop (QOperator: QLinearConv, QLinearAdd, ...)")->capture_default_str();
  cmd->add_option("--method", o.method, "Calibration: minmax, entropy, percentile or mse")->capture_default_str();
  cmd->add_flag("--per-channel", o.per_channel, "Per-output-channel weight scales");
  cmd->add_option("--act", o.act, "Activation type: u8 or s8")->capture_default_str();
  cmd->add_option("--weight", o.weight, "Weight type: s8 or u8")->capture_default_str();
  cmd->add_flag("--symmetric-act", o.symmetric_act, "Symmetric activations (zero point 0)");
  cmd->add_flag("--reduce-range", o.reduce_range, "7-bit ranges (avoids u8 x s8 overflow on older x86 instructions)");
  cmd->add_flag("--moving-average", o.moving_average, "MinMax: moving average of per-batch min/max");
  cmd->add_option("--percentile", o.percentile, "Percentile method: share of |x| kept")->capture_default_str();
  cmd->add_option("--calib-data", o.calib_data, "CIFAR-10 folder or .bin file of calibration images (default: data_batch_1.bin, "
                                                "or test_batch.bin with --calib-indices)");
  cmd->add_option("--calib-count", o.calib_count, "Number of calibration images (stratified by class)")->capture_default_str();
  cmd->add_option("--calib-seed", o.calib_seed, "Seed of the stratified draw")->capture_default_str();
  cmd->add_option("--calib-indices", o.calib_indices, "Explicit .npy list of image indices (e.g. MLPerf's calibration_samples_idxs.npy)");
  cmd->add_option("--save-calib-indices", o.save_calib_indices, "Write the indices used as .npy");
  cmd->add_option("--threads", o.threads, "Calibration threads (default: all cores)");
  cmd->add_option("--overrides", o.overrides, "JSON file of per-layer / per-tensor overrides (docs/overrides.md), e.g. as exported by `tinyq serve`");
  add_kernels_option(cmd, o.kernels);
}

quant::QuantizeOptions to_quantize_options(const QuantizeCliOptions& o) {
  quant::QuantizeOptions q;
  q.kernels = kernels::parse_kernel_policy(o.kernels);
  if (o.format != "qdq" && o.format != "qop") throw Error("--format '" + o.format + "': expected qdq or qop");
  if (o.act != "u8" && o.act != "s8") throw Error("--act '" + o.act + "': expected u8 or s8");
  if (o.weight != "u8" && o.weight != "s8") throw Error("--weight '" + o.weight + "': expected s8 or u8");
  if (!(o.percentile > 0 && o.percentile <= 100)) throw Error("--percentile must be in (0, 100]");
  try {
    q.calibration.method = quant::parse_calibration_method(o.method);
  } catch (const Error&) {
    throw Error("--method '" + o.method + "': expected minmax, entropy, percentile or mse");
  }
  q.calibration.moving_average = o.moving_average;
  q.calibration.percentile = o.percentile;
  q.activation = o.act == "u8" ? DType::u8 : DType::s8;
  q.weight = o.weight == "u8" ? DType::u8 : DType::s8;
  q.symmetric_activation = o.symmetric_act;
  q.per_channel = o.per_channel;
  q.reduce_range = o.reduce_range;
  q.threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  return q;
}

CalibrationImages load_calibration_images(const QuantizeCliOptions& o) {
  CalibrationImages c;
  // MLPerf's calibration indices point into the test set; the default draw uses the training batch.
  const char* default_file = o.calib_indices.empty() ? "data_batch_1.bin" : "test_batch.bin";
  std::filesystem::path data = o.calib_data;
  if (data.empty()) data = require_asset(std::string("data/cifar-10-batches-bin/") + default_file);
  else if (std::filesystem::is_directory(data)) data /= default_file;
  const auto all = eval::read_cifar10({data});
  std::vector<std::int64_t> indices;
  if (!o.calib_indices.empty()) {
    indices = eval::read_index_list(o.calib_indices);
    if (indices.empty()) throw Error(o.calib_indices + ": the calibration index list is empty");
  } else {
    if (o.calib_count == 0) throw Error("--calib-count must be at least 1");
    indices = eval::stratified_indices(all.labels, o.calib_count, o.calib_seed);
  }
  c.images = eval::select_images(all, indices);
  c.source = data.string();
  if (!o.save_calib_indices.empty()) {
    ensure_not_input(o.save_calib_indices, data);
    write_npy(o.save_calib_indices, Tensor::from<std::int64_t>({static_cast<std::int64_t>(indices.size())}, indices));
  }
  return c;
}

QuantizedModel quantize_from_cli(const QuantizeCliOptions& o) {
  QuantizedModel q;
  q.options = to_quantize_options(o);
  const ir::Graph graph = importers::load_model(o.model);
  const CalibrationImages calib = load_calibration_images(o);
  q.calibration_count = calib.images.size();
  q.calibration_source = calib.source;
  const quant::Overrides overrides = o.overrides.empty() ? quant::Overrides{} : quant::read_overrides(o.overrides);
  q.result = quant::quantize(
      graph, [&](std::size_t begin, std::size_t count) { return eval::image_batch_f32(calib.images, begin, count); },
      calib.images.size(), q.options, overrides);
  return q;
}

}  // namespace tinyq::cli
