#pragma once
// The playground's state: one float model, calibrated once, and the current
// quantized model as an immutable snapshot.
//
// Everything that does not depend on an edit is done once when the session
// starts: the model is read and prepared, the calibration images observed
// (quant::calibrate), the evaluation images decoded, the float model's
// predictions and its intermediate tensors on a sample of images cached. An
// edit then costs one quant::build, one executor and one pass over the
// evaluation images with the integer engine. Readers hold a shared_ptr to a
// snapshot, so a request never sees a half-made model and edits may run while
// other requests read.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "eval/cifar10.h"
#include "eval/evaluate.h"
#include "kernels/requant.h"
#include "quant/quantizer.h"
#include "runtime/executor.h"

namespace tinyq::serve {

// The scheme-wide choices the page offers.
struct Settings {
  quant::CalibrationMethod method = quant::CalibrationMethod::minmax;
  bool per_channel = false;
  DType activation = DType::u8;
  bool reduce_range = false;
  bool symmetric = false;
  kernels::RequantMode requant = kernels::RequantMode::float_multiplier;
  std::size_t eval_count = 1000;
};

struct LayerStats {
  std::string layer, op_type, output;
  bool kept_float = false;
  int bits = 8, weight_bits = 8;
  // Output activation quantized on its own (the float model's tensor through
  // QuantizeLinear/DequantizeLinear with this layer's parameters), as ONNX
  // Runtime's qdq_loss_debug separates it from the accumulated error.
  double sqnr_alone_db = 0;
  double sqnr_accumulated_db = 0;  // the integer model's tensor against the float model's
  double cosine = 0;               // of the accumulated error
  double saturated = 0;            // share of the float values beyond the quantization range
  std::optional<double> weight_sqnr_db;
};

struct Snapshot {
  std::uint64_t version = 0;
  Settings settings;
  quant::Overrides overrides;
  quant::QuantizationResult result;   // QDQ graph, tensor and layer parameters
  ir::Graph qoperator;                // what the engine runs (fused, as ONNX Runtime runs the QDQ file)
  std::shared_ptr<const runtime::Executor> executor;
  std::vector<std::uint8_t> predictions;  // per evaluation image
  double accuracy = 0;                    // percent
  std::vector<LayerStats> layers;
  double build_ms = 0, evaluate_ms = 0, stats_ms = 0;
};

struct SessionOptions {
  std::string model;
  std::size_t eval_count = 1000;       // stratified test images evaluated after every edit
  std::size_t calibration_count = 1000; // stratified training images
  std::size_t stats_images = 100;      // images whose intermediate tensors give the per-layer statistics
  unsigned threads = 0;                // 0: all cores
};

class Session {
 public:
  explicit Session(const SessionOptions& options);

  std::shared_ptr<const Snapshot> current() const;
  // Builds and evaluates, then makes it current. Edits run one at a time.
  std::shared_ptr<const Snapshot> apply(const Settings& settings, const quant::Overrides& overrides);
  // Builds and evaluates without the per-layer statistics and without making
  // it current (the sensitivity ranking).
  std::shared_ptr<const Snapshot> trial(const Settings& settings, const quant::Overrides& overrides) const;

  const SessionOptions& options() const { return options_; }
  const std::string& model_name() const { return model_name_; }
  const quant::Calibration& calibration() const { return calibration_; }
  const eval::LabeledImages& test_images() const { return test_; }
  // The evaluation set: indices into the test set, stratified, for `count` images.
  const std::vector<std::int64_t>& eval_indices(std::size_t count) const;
  const std::vector<std::uint8_t>& float_predictions(std::size_t count) const;
  double float_accuracy(std::size_t count) const;
  const std::vector<std::string>& class_names() const { return class_names_; }
  // The float model's tensor on the statistics images (prepared graph names).
  const Tensor& float_tap(const std::string& name) const;
  // A Conv layer's float weights (prepared graph: BatchNorm folded).
  const Tensor& float_weights(const std::string& layer) const;
  std::size_t stats_image_count() const { return stats_indices_.size(); }
  // One test image as the model's f32 input [1, 3, 32, 32].
  Tensor test_image(std::int64_t index) const;
  // The float model's tensors (prepared graph names) for `images`.
  std::map<std::string, Tensor> float_tensors(const Tensor& images, const std::vector<std::string>& names) const;
  // The integer model's value of the same float tensors, dequantized: the
  // codes "<tensor>_quantized" (after any narrowing Clip) for a quantized
  // tensor, the float tensor itself where the snapshot keeps it in float.
  std::map<std::string, std::vector<float>> integer_tensors(const Snapshot& s, const Tensor& images,
                                                            const std::vector<std::string>& names) const;
  const runtime::Executor& float_executor() const { return *float_executor_; }
  unsigned threads() const { return threads_; }

 private:
  struct EvalSet {
    std::vector<std::int64_t> indices;
    eval::LabeledImages images;
    std::vector<std::uint8_t> float_predictions;
    double float_accuracy = 0;
  };
  const EvalSet& eval_set(std::size_t count) const;
  eval::PredictOptions predict_options() const;
  std::shared_ptr<Snapshot> make(const Settings& settings, const quant::Overrides& overrides, bool with_stats) const;
  void compute_stats(Snapshot& s) const;

  SessionOptions options_;
  unsigned threads_ = 1;
  std::string model_name_;
  quant::Calibration calibration_;
  std::unique_ptr<runtime::Executor> float_executor_;
  eval::LabeledImages test_;
  std::vector<std::string> class_names_;
  std::vector<std::int64_t> stats_indices_;
  Tensor stats_images_;
  std::map<std::string, Tensor> float_taps_;

  mutable std::mutex eval_sets_mutex_;
  mutable std::map<std::size_t, std::unique_ptr<EvalSet>> eval_sets_;
  std::mutex edit_mutex_;
  mutable std::mutex current_mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::uint64_t next_version_ = 1;
};

// 10 log10(signal / noise) in dB; +-200 dB stand for the infinities JSON cannot hold.
double sqnr_db(double signal, double noise);

// Settings to and from the API's JSON; bad values are Errors naming the field.
Settings settings_from_json(const nlohmann::json& j, const Settings& base);
nlohmann::json settings_to_json(const Settings& s);
quant::QuantizeOptions quantize_options(const Settings& s, unsigned threads);

}  // namespace tinyq::serve
