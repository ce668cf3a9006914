#include "serve/playground_session.h"

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "core/assets.h"
#include "core/error.h"
#include "core/parallel_for.h"
#include "eval/calibration_set.h"
#include "eval/evaluate.h"
#include "importers/load_model.h"
#include "passes/optimize.h"

namespace tinyq::serve {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::vector<std::uint8_t> argmax_rows(const Tensor& scores) {
  const auto k = static_cast<std::size_t>(scores.shape()[1]);
  const auto s = scores.data<float>();
  std::vector<std::uint8_t> out(s.size() / k);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto row = s.subspan(i * k, k);
    out[i] = static_cast<std::uint8_t>(std::max_element(row.begin(), row.end()) - row.begin());
  }
  return out;
}

double accuracy_percent(const std::vector<std::uint8_t>& predicted, const std::vector<std::uint8_t>& labels) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  return labels.empty() ? 0 : 100.0 * static_cast<double>(correct) / static_cast<double>(labels.size());
}

float dequantize_code(const Tensor& q, std::size_t i, const quant::QuantParams& p) {
  const std::int32_t v = q.dtype() == DType::u8 ? q.data<std::uint8_t>()[i] : q.data<std::int8_t>()[i];
  return static_cast<float>(v - p.zero_points[0]) * p.scales[0];
}

}  // namespace

double sqnr_db(double signal, double noise) {
  if (noise <= 0) return 200.0;
  if (signal <= 0) return -200.0;
  return 10.0 * std::log10(signal / noise);
}

quant::QuantizeOptions quantize_options(const Settings& s, unsigned threads) {
  quant::QuantizeOptions o;
  o.calibration.method = s.method;
  o.per_channel = s.per_channel;
  o.activation = s.activation;
  o.reduce_range = s.reduce_range;
  o.symmetric_activation = s.symmetric;
  o.threads = threads;
  return o;
}

Session::Session(const SessionOptions& options) : options_(options) {
  threads_ = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  if (options.eval_count == 0 || options.eval_count > 10000) throw Error("--eval-count must be 1..10000");
  const ir::Graph model = importers::load_model(options.model);
  model_name_ = std::filesystem::path(options.model).filename().string();
  const auto data_dir = require_asset("data/cifar-10-batches-bin/test_batch.bin").parent_path();
  test_ = eval::read_cifar10({data_dir / "test_batch.bin"});
  class_names_ = eval::cifar10_class_names(data_dir);
  const auto train = eval::read_cifar10({require_asset("data/cifar-10-batches-bin/data_batch_1.bin")});
  const auto calib = eval::select_images(train, eval::stratified_indices(train.labels, options.calibration_count, 0));
  quant::CalibrateOptions co;
  co.threads = threads_;
  calibration_ = quant::calibrate(
      model, [&](std::size_t begin, std::size_t count) { return eval::image_batch_f32(calib, begin, count); }, calib.size(), co);
  ir::Graph prepared = calibration_.prepared;
  float_executor_ = std::make_unique<runtime::Executor>(std::move(prepared));

  // The per-layer statistics come from the first images of the evaluation set.
  const auto& first = eval_indices(options.eval_count);
  stats_indices_.assign(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(std::min(options.stats_images, first.size())));
  stats_images_ = eval::image_batch_f32(eval::select_images(test_, stats_indices_), 0, stats_indices_.size());
  std::vector<std::string> names;
  for (const auto& [name, observer] : calibration_.observers) names.push_back(name);
  float_taps_ = float_executor_->run_with_taps({stats_images_}, names);
  current_ = make(Settings{.eval_count = options.eval_count}, {}, true);
}

const Session::EvalSet& Session::eval_set(std::size_t count) const {
  if (count == 0 || count > test_.size()) throw Error("eval_count must be 1.." + std::to_string(test_.size()));
  std::lock_guard lock(eval_sets_mutex_);
  auto& slot = eval_sets_[count];
  if (!slot) {
    auto set = std::make_unique<EvalSet>();
    set->indices = eval::stratified_indices(test_.labels, count, 0);
    set->images = eval::select_images(test_, set->indices);
    set->float_predictions = argmax_rows(eval::predict(*float_executor_, set->images, predict_options()));
    set->float_accuracy = accuracy_percent(set->float_predictions, set->images.labels);
    slot = std::move(set);
  }
  return *slot;
}

const std::vector<std::int64_t>& Session::eval_indices(std::size_t count) const { return eval_set(count).indices; }
const std::vector<std::uint8_t>& Session::float_predictions(std::size_t count) const { return eval_set(count).float_predictions; }
double Session::float_accuracy(std::size_t count) const { return eval_set(count).float_accuracy; }

// Batches of 125 images over every thread (8 batches for the default 1,000 images on 2 cores).
eval::PredictOptions Session::predict_options() const {
  eval::PredictOptions po;
  po.threads = threads_;
  po.batch = 125;
  return po;
}

const Tensor& Session::float_weights(const std::string& layer) const {
  const auto& g = calibration_.prepared;
  for (const auto& n : g.nodes())
    if (n.name == layer && n.inputs.size() > 1 && g.is_initializer(n.inputs[1])) return g.initializer(n.inputs[1]);
  throw Error("layer '" + layer + "' has no weights");
}

const Tensor& Session::float_tap(const std::string& name) const {
  auto it = float_taps_.find(name);
  if (it == float_taps_.end()) throw Error("no float tensor named '" + name + "'");
  return it->second;
}

Tensor Session::test_image(std::int64_t index) const {
  if (index < 0 || static_cast<std::size_t>(index) >= test_.size()) throw Error("image index out of range");
  return eval::image_batch_f32(eval::select_images(test_, {index}), 0, 1);
}

std::map<std::string, Tensor> Session::float_tensors(const Tensor& images, const std::vector<std::string>& names) const {
  return float_executor_->run_with_taps({images}, names);
}

std::map<std::string, std::vector<float>> Session::integer_tensors(const Snapshot& s, const Tensor& images,
                                                                   const std::vector<std::string>& names) const {
  std::set<std::string> present;
  for (const auto& v : s.executor->graph().values()) present.insert(v.name);
  std::map<std::string, const quant::TensorQuantization*> params;
  for (const auto& t : s.result.tensors) params[t.name] = &t;
  std::vector<std::string> taps;
  for (const auto& name : names) taps.push_back(present.count(name + "_quantized") ? name + "_quantized" : name);
  const auto tapped = s.executor->run_with_taps({images}, taps);
  std::map<std::string, std::vector<float>> out;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const Tensor& t = tapped.at(taps[k]);
    std::vector<float>& values = out[names[k]];
    values.resize(t.element_count());
    if (t.dtype() == DType::f32) {
      std::copy(t.data<float>().begin(), t.data<float>().end(), values.begin());
      continue;
    }
    if (!params.count(names[k])) throw Error("tensor '" + names[k] + "' has no quantization parameters");
    const auto& p = params.at(names[k])->params;
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = dequantize_code(t, i, p);
  }
  return out;
}

std::shared_ptr<const Snapshot> Session::current() const {
  std::lock_guard lock(current_mutex_);
  return current_;
}

std::shared_ptr<const Snapshot> Session::apply(const Settings& settings, const quant::Overrides& overrides) {
  std::lock_guard edit(edit_mutex_);
  auto s = make(settings, overrides, true);
  std::lock_guard lock(current_mutex_);
  s->version = next_version_++;
  current_ = s;
  return s;
}

std::shared_ptr<const Snapshot> Session::trial(const Settings& settings, const quant::Overrides& overrides) const {
  return make(settings, overrides, false);
}

std::shared_ptr<Snapshot> Session::make(const Settings& settings, const quant::Overrides& overrides, bool with_stats) const {
  auto s = std::make_shared<Snapshot>();
  s->settings = settings;
  s->overrides = overrides;
  const EvalSet& set = eval_set(settings.eval_count);
  auto t = Clock::now();
  s->result = quant::build(calibration_, quantize_options(settings, threads_), overrides);
  s->qoperator = quant::to_qoperator(s->result.qdq);
  ir::Graph run = s->qoperator;
  passes::optimize_for_inference(run);
  runtime::OpOptions oo;
  oo.requant = settings.requant;
  s->executor = std::make_shared<runtime::Executor>(std::move(run), oo);
  s->build_ms = ms_since(t);

  t = Clock::now();
  s->predictions = argmax_rows(eval::predict(*s->executor, set.images, predict_options()));
  s->accuracy = accuracy_percent(s->predictions, set.images.labels);
  s->evaluate_ms = ms_since(t);
  if (with_stats) {
    t = Clock::now();
    compute_stats(*s);
    s->stats_ms = ms_since(t);
  }
  return s;
}

void Session::compute_stats(Snapshot& s) const {
  const auto& layers = s.result.layers;
  std::map<std::string, const quant::TensorQuantization*> params;
  for (const auto& t : s.result.tensors) params[t.name] = &t;
  std::vector<std::string> outputs;
  for (const auto& l : layers) outputs.push_back(l.output);
  const auto integer = integer_tensors(s, stats_images_, outputs);
  s.layers.resize(layers.size());
  parallel_for(layers.size(), threads_, [&](std::size_t k) {
    const quant::LayerQuantization& l = layers[k];
    LayerStats& st = s.layers[k];
    st.layer = l.node;
    st.op_type = l.op_type;
    st.output = l.output;
    st.kept_float = l.kept_float;
    st.weight_bits = l.weight_bits;
    const Tensor& f = float_tap(l.output);
    const auto fv = f.data<float>();
    const quant::TensorQuantization* p = params.count(l.output) ? params.at(l.output) : nullptr;
    st.bits = p ? p->bits : 32;
    // Alone: the float tensor through this layer's QuantizeLinear/DequantizeLinear.
    double signal = 0, noise_alone = 0, saturated = 0;
    for (float x : fv) signal += static_cast<double>(x) * x;
    if (p) {
      const float scale = p->params.scales[0];
      const auto zp = p->params.zero_points[0];
      const float lo = scale * static_cast<float>(p->codes.qmin - zp), hi = scale * static_cast<float>(p->codes.qmax - zp);
      for (float x : fv) {
        const float q = std::clamp(std::nearbyint(x / scale) + static_cast<float>(zp), static_cast<float>(p->codes.qmin),
                                   static_cast<float>(p->codes.qmax));
        const double e = static_cast<double>(x) - static_cast<double>(scale * (q - static_cast<float>(zp)));
        noise_alone += e * e;
        saturated += (x < lo - scale / 2 || x > hi + scale / 2);
      }
    }
    st.sqnr_alone_db = p ? sqnr_db(signal, noise_alone) : 200.0;
    st.saturated = fv.empty() ? 0 : saturated / static_cast<double>(fv.size());
    // Accumulated: the integer model's tensor, dequantized, against the float model's.
    const std::vector<float>& q = integer.at(l.output);
    double noise = 0, dot = 0, qq = 0;
    for (std::size_t i = 0; i < fv.size(); ++i) {
      const double e = static_cast<double>(fv[i]) - q[i];
      noise += e * e;
      dot += static_cast<double>(fv[i]) * q[i];
      qq += static_cast<double>(q[i]) * q[i];
    }
    st.sqnr_accumulated_db = sqnr_db(signal, noise);
    st.cosine = signal > 0 && qq > 0 ? dot / std::sqrt(signal * qq) : (signal == qq ? 1.0 : 0.0);
    if (l.weight) {
      const auto w = float_weights(l.node).data<float>();
      const Tensor dq = quant::dequantize_weight(quant::quantize_weight(float_weights(l.node), *l.weight), *l.weight);
      double ws = 0, wn = 0;
      for (std::size_t i = 0; i < w.size(); ++i) {
        const double x = w[i], e = x - dq.data<float>()[i];
        ws += x * x;
        wn += e * e;
      }
      st.weight_sqnr_db = sqnr_db(ws, wn);
    }
  });
}

namespace {
const std::map<std::string, kernels::RequantMode> kRequant = {{"float", kernels::RequantMode::float_multiplier},
                                                              {"fixed", kernels::RequantMode::fixed_point}};
}

Settings settings_from_json(const nlohmann::json& j, const Settings& base) {
  if (!j.is_object()) throw Error("settings: expected an object");
  Settings s = base;
  for (const auto& [key, v] : j.items()) {
    const std::string where = "settings." + key;
    auto boolean = [&] {
      if (!v.is_boolean()) throw Error(where + ": expected true or false");
      return v.get<bool>();
    };
    if (key == "method") {
      if (!v.is_string()) throw Error(where + ": expected a string");
      try {
        s.method = quant::parse_calibration_method(v.get<std::string>());
      } catch (const Error& e) {
        throw Error(where + ": " + e.what());
      }
    } else if (key == "per_channel") {
      s.per_channel = boolean();
    } else if (key == "reduce_range") {
      s.reduce_range = boolean();
    } else if (key == "symmetric") {
      s.symmetric = boolean();
    } else if (key == "activation") {
      if (v != "u8" && v != "s8") throw Error(where + ": expected \"u8\" or \"s8\"");
      s.activation = v == "u8" ? DType::u8 : DType::s8;
    } else if (key == "requant") {
      if (!v.is_string() || !kRequant.count(v.get<std::string>())) throw Error(where + ": expected \"float\" or \"fixed\"");
      s.requant = kRequant.at(v.get<std::string>());
    } else if (key == "eval_count") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 10000)
        throw Error(where + ": expected an integer 1..10000");
      s.eval_count = v.get<std::size_t>();
    } else {
      throw Error(where + ": unknown setting (method, per_channel, activation, reduce_range, symmetric, requant, eval_count)");
    }
  }
  return s;
}

nlohmann::json settings_to_json(const Settings& s) {
  return {{"method", quant::calibration_method_name(s.method)},
          {"per_channel", s.per_channel},
          {"activation", s.activation == DType::u8 ? "u8" : "s8"},
          {"reduce_range", s.reduce_range},
          {"symmetric", s.symmetric},
          {"requant", s.requant == kernels::RequantMode::fixed_point ? "fixed" : "float"},
          {"eval_count", s.eval_count}};
}

}  // namespace tinyq::serve
