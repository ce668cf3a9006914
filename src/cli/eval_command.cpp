// tinyq eval: top-1 accuracy, per-class accuracy, confusion matrix, EEMBC AUC
// and throughput of a model on CIFAR-10.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "core/assets.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "eval/cifar10.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "importers/load_model.h"
#include "passes/optimize.h"

namespace tinyq::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string data;
  std::string subset;
  std::size_t batch = 250;
  unsigned threads = 0;
  std::string json_path;
  std::string dump_outputs;
  std::string requant = "auto";
  std::string kernels = "auto";
  bool profile = false;
};

// "perf200" (the MLPerf Tiny accuracy subset) or a count of leading images.
eval::LabeledImages apply_subset(eval::LabeledImages all, const std::string& subset) {
  if (subset.empty()) return all;
  if (subset == "perf200") return eval::select_images(all, eval::read_index_list(require_asset("models/perf_samples_idxs.npy")));
  std::size_t used = 0;
  long long n = -1;
  try {
    n = std::stoll(subset, &used);
  } catch (const std::exception&) {
  }
  if (used != subset.size() || n <= 0)
    throw Error("--subset '" + subset + "': expected perf200 or a positive number of leading images");
  std::vector<std::int64_t> first(static_cast<std::size_t>(std::min<long long>(n, static_cast<long long>(all.size()))));
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<std::int64_t>(i);
  return eval::select_images(all, first);
}

// How a quantized model's integers are computed, in words.
std::string describe_arithmetic(kernels::RequantMode mode) {
  switch (mode) {
    case kernels::RequantMode::float_multiplier: return "float (ONNX Runtime's requantization)";
    case kernels::RequantMode::fixed_point: return "fixed (integer-only multiplier and shift, one rounding)";
    case kernels::RequantMode::tflite: return "tflite (TFLite's reference kernels: gemmlowp double rounding)";
    case kernels::RequantMode::xnnpack: return "xnnpack (TFLite's runtime with its default XNNPACK delegate)";
  }
  return "";
}

void print_report(const EvalOptions& o, const eval::ClassificationScores& s, const std::vector<std::string>& names,
                  double images_per_second, const std::string& arithmetic) {
  std::printf("model      %s\n", o.model.c_str());
  if (!arithmetic.empty()) std::printf("integers   %s\n", arithmetic.c_str());
  std::printf("data       %s%s\n", o.data.c_str(), o.subset.empty() ? "" : (" (subset " + o.subset + ")").c_str());
  std::printf("accuracy   %.2f%%  (%s / %s correct)\n", 100.0 * s.accuracy, with_commas(s.correct).c_str(),
              with_commas(s.total).c_str());
  std::printf("AUC        %.4f  (EEMBC simplified ROC AUC, mean over classes)\n", s.auc);
  std::printf("speed      %.1f images/s\n\n", images_per_second);
  std::printf("%-12s %9s %7s   confusion (rows: true class, columns: predicted)\n", "class", "accuracy", "AUC");
  for (std::size_t c = 0; c < s.per_class.size(); ++c) {
    std::printf("%-12s %8.1f%% %7.4f  ", names[c].c_str(), 100.0 * s.per_class[c], s.per_class_auc[c]);
    for (auto v : s.confusion[c]) std::printf(" %5lld", static_cast<long long>(v));
    std::printf("\n");
  }
}

// Per node: the kernel chosen and its share of the time spent in kernels.
void print_profile(const std::vector<runtime::NodeProfile>& rows) {
  double total = 0;
  int node_width = 4, op_width = 2, kernel_width = 6;  // the headers' lengths, widened to the longest entry
  for (const auto& r : rows) {
    total += r.seconds;
    node_width = std::max(node_width, static_cast<int>(r.node.size()));
    op_width = std::max(op_width, static_cast<int>(r.op_type.size()));
    kernel_width = std::max(kernel_width, static_cast<int>(r.kernel.size()));
  }
  std::printf("\n%-*s %-*s %-*s %9s %7s\n", node_width, "node", op_width, "op", kernel_width, "kernel", "seconds", "share");
  for (const auto& r : rows)
    std::printf("%-*s %-*s %-*s %9.4f %6.1f%%\n", node_width, r.node.c_str(), op_width, r.op_type.c_str(), kernel_width,
                r.kernel.c_str(), r.seconds, total > 0 ? 100.0 * r.seconds / total : 0.0);
  std::printf("%-*s %-*s %-*s %9.4f %6.1f%%  (summed over threads; CPU: %s)\n", node_width, "total", op_width, "", kernel_width, "",
              total, 100.0, kernels::cpu_features().model.c_str());
}

void run_eval(const EvalOptions& o) {
  const std::string model_path = o.model;
  const std::filesystem::path data_dir = o.data;
  ir::Graph graph = importers::load_model(model_path);
  passes::optimize_for_inference(graph);
  const runtime::OpOptions run_options = op_options(o.requant, o.kernels, o.model);
  const bool quantized = std::any_of(graph.nodes().begin(), graph.nodes().end(), [](const ir::Node& n) {
    return n.op_type.rfind("QLinear", 0) == 0 || n.op_type == "QuantizeLinear";
  });
  const std::string arithmetic = quantized ? describe_arithmetic(run_options.requant) : "";
  runtime::Executor executor(std::move(graph), run_options);
  executor.set_profiling(o.profile);

  eval::LabeledImages images = apply_subset(eval::read_cifar10({data_dir / "test_batch.bin"}), o.subset);
  ProgressBar bar("eval");
  eval::PredictOptions po;
  po.batch = o.batch;
  po.threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  po.progress = [&](std::size_t done, std::size_t total) { bar.update(done, total); };
  std::vector<double> batch_seconds;
  po.batch_seconds = &batch_seconds;
  const auto start = std::chrono::steady_clock::now();
  const Tensor outputs = eval::predict(executor, images, po);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bar.finish();
  const auto scores = eval::score_classification(outputs, images.labels);
  const double ips = static_cast<double>(images.size()) / seconds;
  const auto names = eval::cifar10_class_names(data_dir);
  print_report(o, scores, names, ips, arithmetic);
  if (o.profile) print_profile(executor.profile());

  if (!o.dump_outputs.empty()) {
    ensure_not_input(o.dump_outputs, model_path);
    write_npy(o.dump_outputs, outputs);
  }
  if (!o.json_path.empty()) {
    ensure_not_input(o.json_path, model_path);
    nlohmann::json j;
    j["model"] = o.model;
    j["data"] = o.data;
    j["subset"] = o.subset.empty() ? "all" : o.subset;
    j["accuracy"] = 100.0 * scores.accuracy;  // percent
    j["correct"] = scores.correct;
    j["total"] = scores.total;
    for (std::size_t c = 0; c < names.size(); ++c) j["per_class"][names[c]] = 100.0 * scores.per_class[c];
    j["confusion"] = scores.confusion;
    j["auc"] = scores.auc;
    j["per_class_auc"] = scores.per_class_auc;
    j["images_per_second"] = ips;
    j["threads"] = po.threads;
    j["batch"] = po.batch;
    j["requant"] = requant_name(op_options(o.requant, o.kernels, o.model).requant);
    j["kernels"] = o.kernels;
    // Wall time per batch (with --batch 1 --threads 1: the latency of one image).
    std::sort(batch_seconds.begin(), batch_seconds.end());
    auto percentile = [&](double q) {
      return 1e3 * batch_seconds[std::min(batch_seconds.size() - 1, static_cast<std::size_t>(q * static_cast<double>(batch_seconds.size())))];
    };
    if (!batch_seconds.empty()) j["batch_latency_ms"] = {{"median", percentile(0.5)}, {"p99", percentile(0.99)}};
    write_file_atomically(o.json_path, j.dump(2) + "\n");
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Top-1 accuracy, per-class accuracy, confusion matrix, AUC and speed on CIFAR-10");
  cmd->add_option("model", o->model, "Model file (.h5); default: the MLPerf Tiny ResNet8 in the assets folder");
  cmd->add_option("--data", o->data, "Folder with test_batch.bin (CIFAR-10 binary); default: assets data folder");
  cmd->add_option("--subset", o->subset, "perf200 (MLPerf Tiny's 200-image subset) or N (the first N images)");
  cmd->add_option("--batch", o->batch, "Images per batch")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--json", o->json_path, "Also write all results as JSON");
  cmd->add_option("--requant", o->requant, kRequantHelp)->capture_default_str();
  add_kernels_option(cmd, o->kernels);
  cmd->add_flag("--profile", o->profile, "Print per node the kernel chosen and its share of the time");
  cmd->add_option("--dump-outputs", o->dump_outputs, "Write the model outputs as float32 .npy [N, classes]");
  cmd->callback([o] {
    EvalOptions resolved = *o;
    if (resolved.model.empty()) resolved.model = require_asset("models/pretrainedResnet.h5").string();
    if (resolved.data.empty()) resolved.data = (assets_root() / "data/cifar-10-batches-bin").string();
    run_eval(resolved);
  });
}

}  // namespace tinyq::cli
