// tinyq quantize: post-training static quantization to an ONNX file that
// ONNX Runtime runs (QDQ or QOperator).
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/assets.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "eval/calibration_set.h"
#include "eval/cifar10.h"
#include "exporters/onnx_exporter.h"
#include "importers/load_model.h"
#include "quant/quantizer.h"

namespace tinyq::cli {

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeCliOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Quantize a float model to int8 after training, as ONNX (QDQ or QOperator)");
  cmd->add_option("model", o->model, "Float model (.h5 or .onnx)")->required();
  cmd->add_option("--out", o->out, "Output .onnx file")->required();
  add_quantization_options(cmd, *o);
  cmd->callback([o] {
    const QuantizedModel q = quantize_from_cli(*o);
    ensure_not_input(o->out, o->model);
    exporters::write_onnx(o->format == "qdq" ? q.result.qdq : quant::to_qoperator(q.result.qdq), o->out);
    std::printf("%-34s %23s %23s %12s %5s\n", "tensor", "observed [min, max]", "quantized [min, max]", "scale", "zp");
    for (const auto& t : q.result.tensors)
      std::printf("%-34s [%9.4f, %9.4f] [%9.4f, %9.4f] %12.6g %5d\n", t.name.c_str(), t.observed.min, t.observed.max, t.chosen.min,
                  t.chosen.max, t.params.scales[0], t.params.zero_points[0]);
    for (const auto& f : q.result.float_nodes) std::printf("float: %s\n", f.c_str());
    std::printf("\nwrote %s (%s, %s, %zu calibration images from %s)\n", o->out.c_str(), o->format == "qdq" ? "QDQ" : "QOperator",
                quant::describe(q.options).c_str(), q.calibration_count, q.calibration_source.c_str());
  });
}

}  // namespace tinyq::cli
