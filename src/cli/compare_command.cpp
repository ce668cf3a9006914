// tinyq compare: fp32 against a matrix of quantization schemes, each run by
// tinyq's integer engine (float and fixed requantization) and by ONNX
// Runtime, with PyTorch's own PTQ and the official TFLite figure beside them.
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "core/assets.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "kernels/cpu_features.h"
#include "core/npy.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "exporters/onnx_exporter.h"
#include "exporters/pytorch_source.h"
#include "importers/load_model.h"
#include "passes/optimize.h"
#include "exporters/torch_archive.h"

namespace tinyq::cli {
namespace {

struct CompareOptions {
  QuantizeCliOptions quant;
  std::string out_dir;
  std::vector<std::string> methods{"minmax", "entropy", "percentile", "mse"};
  std::vector<std::string> granularities{"per-tensor", "per-channel"};
  std::vector<std::string> activations{"u8", "s8"};
  bool layers = false, no_peers = false;
};

// Runs a peer command; returns its stdout, or nothing with `why` set.
std::optional<std::string> run_peer(const std::string& command, std::string& why) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) {
    why = "could not start: " + command;
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    why = "failed (" + command + "): " + out.substr(0, 400);
    return std::nullopt;
  }
  return out;
}

std::string shell_quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

double accuracy_of(const Tensor& scores, const eval::LabeledImages& set) {
  return 100.0 * eval::score_classification(scores, set.labels).accuracy;
}

double subset_accuracy(const Tensor& scores, const eval::LabeledImages& set, const std::vector<std::int64_t>& subset) {
  const std::int64_t k = scores.shape()[1];
  std::size_t correct = 0;
  for (auto i : subset) {
    const auto row = scores.data<float>().subspan(static_cast<std::size_t>(i * k), static_cast<std::size_t>(k));
    correct += static_cast<std::uint8_t>(std::max_element(row.begin(), row.end()) - row.begin()) == set.labels[i];
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(subset.size());
}

std::vector<eval::LayerError> layer_errors(const ir::Graph& prepared_float, const ir::Graph& quantized,
                                           const quant::QuantizationResult& q, const eval::LabeledImages& images) {
  std::vector<std::string> float_names, quant_names;
  for (const auto& t : q.tensors) {
    float_names.push_back(t.name);
    quant_names.push_back(t.name + "_quantized");
  }
  const runtime::Executor f(prepared_float), i(quantized);
  const Tensor batch = eval::image_batch_f32(images, 0, images.size());
  const auto ft = f.run_with_taps({batch}, float_names);
  const auto qt = i.run_with_taps({batch}, quant_names);
  std::vector<eval::LayerError> errors;
  for (std::size_t k = 0; k < q.tensors.size(); ++k) {
    const auto& params = q.tensors[k].params;
    const Tensor& qv = qt.at(quant_names[k]);
    std::vector<float> dq(qv.element_count());
    for (std::size_t e = 0; e < dq.size(); ++e) {
      const std::int32_t v = qv.dtype() == DType::u8 ? qv.data<std::uint8_t>()[e] : qv.data<std::int8_t>()[e];
      dq[e] = static_cast<float>(v - params.zero_points[0]) * params.scales[0];
    }
    const auto fv = ft.at(float_names[k]).data<float>();
    errors.push_back(eval::layer_error(q.tensors[k].name, {fv.begin(), fv.end()}, dq));
  }
  return errors;
}

void run_compare(const CompareOptions& o) {
  namespace fs = std::filesystem;
  const fs::path dir = o.out_dir;
  fs::create_directories(dir);
  const unsigned threads = o.quant.threads ? o.quant.threads : std::max(1u, std::thread::hardware_concurrency());
  const fs::path test_batch = require_asset("data/cifar-10-batches-bin/test_batch.bin");
  const auto test = eval::read_cifar10({test_batch});
  const fs::path perf_path = require_asset("models/perf_samples_idxs.npy");
  const auto perf = eval::read_index_list(perf_path);
  const ir::Graph model = importers::load_model(o.quant.model);

  eval::ComparisonReport report;
  report.model = fs::path(o.quant.model).filename().string();
  eval::PredictOptions po;
  po.threads = threads;
  ProgressBar bar("compare");

  auto evaluate = [&](ir::Graph graph, kernels::RequantMode mode) {
    passes::optimize_for_inference(graph);
    runtime::OpOptions options = op_options("float", o.quant.kernels);
    options.requant = mode;
    return eval::predict(runtime::Executor(std::move(graph), options), test, po);
  };
  {
    const Tensor fp32 = evaluate(model, kernels::RequantMode::float_multiplier);
    report.fp32_accuracy = accuracy_of(fp32, test);
    report.fp32_perf200 = subset_accuracy(fp32, test, perf);
  }

  // One calibration set for every scheme (written out so runs are reproducible).
  QuantizeCliOptions base = o.quant;
  if (base.save_calib_indices.empty()) base.save_calib_indices = (dir / "calibration_indices.npy").string();
  const CalibrationImages calib = load_calibration_images(base);
  report.calibration_images = calib.images.size();
  report.calibration_source = calib.source;
  const auto source = [&](std::size_t begin, std::size_t count) { return eval::image_batch_f32(calib.images, begin, count); };
  // One pass over the calibration images serves every scheme of the matrix.
  const quant::Calibration calibration =
      quant::calibrate(model, source, calib.images.size(), quant::calibrate_options(to_quantize_options(base)));
  const ir::Graph& prepared = calibration.prepared;

  const std::size_t total = o.methods.size() * o.granularities.size() * o.activations.size();
  std::size_t done = 0;
  for (const auto& method : o.methods)
    for (const auto& granularity : o.granularities)
      for (const auto& act : o.activations) {
        QuantizeCliOptions c = base;
        c.method = method;
        c.per_channel = granularity == "per-channel";
        c.act = act;
        const quant::QuantizeOptions qo = to_quantize_options(c);
        const auto result = quant::build(calibration, qo);
        eval::SchemeResult s;
        s.id = method + "_" + granularity + "_" + act;
        s.description = quant::describe(qo);
        s.file = s.id + ".onnx";
        s.float_nodes = result.float_nodes;
        exporters::write_onnx(result.qdq, dir / s.file);
        for (auto mode : {kernels::RequantMode::float_multiplier, kernels::RequantMode::fixed_point}) {
          const Tensor scores = evaluate(result.qdq, mode);
          const bool is_float = mode == kernels::RequantMode::float_multiplier;
          (is_float ? s.accuracy_float_requant : s.accuracy_fixed_requant) = accuracy_of(scores, test);
          (is_float ? s.perf200_float_requant : s.perf200_fixed_requant) = subset_accuracy(scores, test, perf);
        }
        if (o.layers) {
          const auto subset = eval::select_images(test, perf);
          s.layers = layer_errors(prepared, quant::to_qoperator(result.qdq), result, subset);
        }
        report.schemes.push_back(std::move(s));
        bar.update(++done, total);
      }
  bar.finish();

  // Peers: ONNX Runtime on every written file, PyTorch's PTQ on the exported module.
  const fs::path peers = source_root() / "tests/peers";
  if (o.no_peers) {
    report.onnxruntime_note = report.pytorch_note = "skipped (--no-peers)";
  } else {
    for (auto& s : report.schemes) {
      std::string why;
      const fs::path out = dir / (s.id + ".onnxruntime.npy");
      if (run_peer("node " + shell_quote(peers / "ort_run.mjs") + " " + shell_quote(dir / s.file) + " " + shell_quote(test_batch) + " " + shell_quote(out), why)) {
        s.onnxruntime_accuracy = accuracy_of(read_npy(out), test);
        fs::remove(out);
      } else {
        report.onnxruntime_note = why;
      }
    }
    const auto& cpu = kernels::cpu_features();
    if (report.onnxruntime_note.empty() && !cpu.avx512_vnni && !cpu.avx_vnni)
      report.onnxruntime_note =
          "this CPU has no VNNI, so ONNX Runtime's u8 x s8 kernels use vpmaddubsw, whose 16-bit pair sums saturate: its "
          "accuracy here is not the exact integer arithmetic ONNX specifies (tinyq's). --reduce-range (7-bit activations) "
          "avoids the saturation; on VNNI CPUs ONNX Runtime equals tinyq";
    std::string torch_missing;
    if (!exporters::torch_export_available(&torch_missing)) {
      report.pytorch_note = "not run: " + torch_missing;
    } else {
      const fs::path torch_dir = dir / "pytorch";
      fs::create_directories(torch_dir);
      const std::string stem = "model";
      const auto eager = exporters::to_eager_module(model, "Model");
      write_file_atomically(torch_dir / (stem + ".py"), eager.source);
      exporters::write_state_dict(eager.state_dict, torch_dir / (stem + "_state_dict.pt"));
      std::string why;
      if (auto out = run_peer("/usr/bin/python3 " + shell_quote(peers / "torch_ptq.py") + " " + shell_quote(torch_dir) + " " + stem + " " +
                                  shell_quote(calib.source) + " " + shell_quote(base.save_calib_indices) + " " + shell_quote(test_batch) + " " +
                                  shell_quote(perf_path),
                              why)) {
        const auto j = nlohmann::json::parse(out->substr(out->rfind('{')));
        report.pytorch_accuracy = j.at("accuracy").get<double>();
        report.pytorch_perf200 = j.at("accuracy_perf200").get<double>();
        report.pytorch_note = "eager torch.ao.quantization, engine onednn, get_default_qconfig('onednn'), torch " +
                              j.at("torch").get<std::string>() + ", same calibration images";
      } else {
        report.pytorch_note = why;
      }
    }
  }
  write_file_atomically(dir / "report.md", eval::report_markdown(report));
  write_file_atomically(dir / "report.json", eval::report_json(report).dump(2) + "\n");
  write_file_atomically(dir / "accuracy.svg", eval::report_svg(report));
  std::fputs(eval::report_markdown(report).c_str(), stdout);
  std::printf("\nwrote %s, %s and %s\n", (dir / "report.md").c_str(), (dir / "report.json").c_str(), (dir / "accuracy.svg").c_str());
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand("compare", "Accuracy of fp32 and a matrix of int8 schemes (tinyq, ONNX Runtime, PyTorch, TFLite)");
  cmd->add_option("model", o->quant.model, "Float model (.h5 or .onnx)")->required();
  cmd->add_option("--out", o->out_dir, "Output folder: report.md, report.json, accuracy.svg and one .onnx per scheme")->required();
  cmd->add_option("--methods", o->methods, "Calibration methods to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--granularity", o->granularities, "per-tensor, per-channel")->delimiter(',')->capture_default_str();
  cmd->add_option("--acts", o->activations, "Activation types: u8, s8")->delimiter(',')->capture_default_str();
  cmd->add_flag("--layers", o->layers, "Add per-layer SQNR and cosine similarity (on the 200 perf images)");
  cmd->add_flag("--no-peers", o->no_peers, "Do not run ONNX Runtime and PyTorch");
  cmd->add_option("--calib-data", o->quant.calib_data, "CIFAR-10 .bin of calibration images (default data_batch_1.bin)");
  cmd->add_option("--calib-count", o->quant.calib_count, "Calibration images")->capture_default_str();
  cmd->add_option("--calib-seed", o->quant.calib_seed, "Seed of the stratified draw")->capture_default_str();
  cmd->add_option("--calib-indices", o->quant.calib_indices, "Explicit .npy index list");
  cmd->add_option("--threads", o->quant.threads, "Threads (default: all cores)");
  cmd->callback([o] { run_compare(*o); });
}

}  // namespace tinyq::cli
