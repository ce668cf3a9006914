#include "inspect/operations.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "runtime/ops/ops.h"
#include "runtime/qlinear_node.h"
#include "kernels/requant.h"

namespace tinyq::inspect {
namespace {

using nlohmann::json;

json tensor_json(const ir::Graph& g, ir::ValueId id) {
  if (!id.valid()) return nullptr;
  const ir::Value& v = g.value(id);
  json shape = json::array();
  for (auto d : v.shape) shape.push_back(d == kBatch ? json("N") : json(d));
  return {{"name", v.name}, {"dtype", std::string(dtype_name(v.dtype))}, {"shape", shape}, {"constant", v.initializer.has_value()}};
}

json attribute_json(const ir::Attribute& a) {
  return std::visit([](const auto& v) { return json(v); }, a);
}

std::pair<std::int32_t, std::int32_t> code_range(DType t) { return t == DType::u8 ? std::pair{0, 255} : std::pair{-128, 127}; }

json fixed_json(double real) {
  const auto f = kernels::to_fixed_multiplier(real);
  const double back = kernels::from_fixed_multiplier(f);
  // TFLite names the same pair (quantized_multiplier = M0, shift = 31 - n):
  // its reference kernels apply it with gemmlowp's two roundings.
  return {{"m0", f.m0},
          {"shift", f.shift},
          {"tflite_shift", 31 - f.shift},
          {"value", back},
          {"relative_error", real > 0 ? std::abs(back - real) / real : 0.0}};
}

json qlinear_json(const ir::Graph& g, const ir::Node& n) {
  const auto q = runtime::ops::qlinear_params(g, n, {});
  json j = {{"x_scale", q.x_scale}, {"x_zero_point", q.x_zero_point}, {"w_scale", q.w_scales}, {"w_zero_point", q.w_zero_points},
            {"y_scale", q.y_scale}, {"y_zero_point", q.y_zero_point}, {"multiplier", q.multipliers}};
  for (double m : q.real_multipliers) j["multiplier_fixed"].push_back(fixed_json(m));
  // Worst case |acc| = |bias| + max|x - x_zp| * sum |w - w_zp| per output channel.
  const Tensor& w = g.initializer(n.inputs[runtime::ops::qlinear_input::w]);
  const auto wi = to_int32_vector(w, "weight of node '" + n.name + "'");
  const auto [xmin, xmax] = code_range(g.value(n.inputs[0]).dtype);
  const std::int64_t x_span = std::max(q.x_zero_point - xmin, xmax - q.x_zero_point);
  const bool conv = n.op_type == "QLinearConv";
  const std::int64_t channels = conv ? w.shape()[0] : w.shape()[1];
  const std::int64_t per = static_cast<std::int64_t>(wi.size()) / channels;
  std::vector<std::int32_t> bias;
  if (conv && runtime::ops::has_qlinear_bias(n)) bias = to_int32_vector(g.initializer(n.inputs[runtime::ops::qlinear_input::bias]), "bias of node '" + n.name + "'");
  std::int64_t worst = 0;
  double sum = 0, sum2 = 0;
  std::int64_t zeros = 0, wmin = INT64_MAX, wmax = INT64_MIN;
  for (std::int64_t c = 0; c < channels; ++c) {
    const std::int32_t zp = q.w_zero_points[q.w_zero_points.size() > 1 ? c : 0];
    std::int64_t abs_sum = 0;
    for (std::int64_t k = 0; k < per; ++k) {
      // QLinearConv weights are [out, in, kh, kw]; QLinearMatMul's B is [K, N].
      const std::int32_t v = conv ? wi[c * per + k] : wi[k * channels + c];
      abs_sum += std::abs(v - zp);
    }
    worst = std::max(worst, (bias.empty() ? 0 : std::abs(static_cast<std::int64_t>(bias[c]))) + x_span * abs_sum);
  }
  for (auto v : wi) {
    sum += v, sum2 += static_cast<double>(v) * v, zeros += v == 0;
    wmin = std::min<std::int64_t>(wmin, v), wmax = std::max<std::int64_t>(wmax, v);
  }
  const double mean = sum / static_cast<double>(wi.size());
  const int bits = static_cast<int>(std::ceil(std::log2(static_cast<double>(worst) + 1))) + 1;
  j["accumulator"] = {{"worst_case_abs", worst}, {"bits", bits}, {"fits_int32", bits <= 32}, {"terms_per_output", per}};
  j["weights"] = {{"dtype", std::string(dtype_name(w.dtype()))}, {"count", wi.size()}, {"min", wmin}, {"max", wmax}, {"mean", mean},
                  {"std", std::sqrt(std::max(0.0, sum2 / static_cast<double>(wi.size()) - mean * mean))},
                  {"zeros", zeros}};
  if (!bias.empty()) j["bias"] = {{"min", *std::min_element(bias.begin(), bias.end())}, {"max", *std::max_element(bias.begin(), bias.end())}};
  return j;
}

json quantization_json(const ir::Graph& g, const ir::Node& n) {
  using runtime::ops::constant_scales;
  using runtime::ops::constant_zero_points;
  if (n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul") return qlinear_json(g, n);
  if (n.op_type == "QLinearAdd") {
    namespace in_ = runtime::ops::qlinear_add_input;
    const float sa = constant_scales(g, n, in_::a_scale).at(0), sb = constant_scales(g, n, in_::b_scale).at(0),
                sc = constant_scales(g, n, in_::c_scale).at(0);
    return {{"a_scale", sa}, {"a_zero_point", constant_zero_points(g, n, in_::a_zero_point).at(0)}, {"b_scale", sb},
            {"b_zero_point", constant_zero_points(g, n, in_::b_zero_point).at(0)}, {"y_scale", sc},
            {"y_zero_point", constant_zero_points(g, n, in_::c_zero_point).at(0)},
            {"a_ratio", sa / sc}, {"b_ratio", sb / sc}, {"a_ratio_fixed", fixed_json(double(sa) / sc)}, {"b_ratio_fixed", fixed_json(double(sb) / sc)}};
  }
  if (n.op_type == "QLinearAveragePool") {
    // Windows may be cut by the border: the divisor is the count of the
    // window's in-bounds values, at most the window size given here.
    const auto kernel = n.attr_ints("kernel_shape");
    return {{"x_scale", constant_scales(g, n, 1).at(0)}, {"x_zero_point", constant_zero_points(g, n, 2).at(0)},
            {"y_scale", constant_scales(g, n, 3).at(0)}, {"y_zero_point", constant_zero_points(g, n, 4).at(0)},
            {"window", kernel.at(0) * kernel.at(1)}};
  }
  if (n.op_type == "QLinearGlobalAveragePool" || n.op_type == "QLinearReduceMean") {  // the mean over H x W
    const float sx = constant_scales(g, n, 1).at(0), sy = constant_scales(g, n, 3).at(0);
    const Shape& x = g.value(n.inputs[0]).shape;
    const std::int64_t plane = x[2] * x[3];
    const double real = static_cast<double>(sx) / (static_cast<double>(sy) * plane);
    return {{"x_scale", sx}, {"x_zero_point", constant_zero_points(g, n, 2).at(0)}, {"y_scale", sy},
            {"y_zero_point", constant_zero_points(g, n, 4).at(0)}, {"window", plane},
            {"multiplier", sx / (sy * static_cast<float>(plane))}, {"multiplier_fixed", fixed_json(real)}};
  }
  if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear")
    return {{"scale", constant_scales(g, n, 1)}, {"zero_point", constant_zero_points(g, n, 2)}};
  return nullptr;
}

}  // namespace

json describe_operations(const ir::Graph& graph) {
  json out = {{"model", graph.name}, {"nodes", json::array()}};
  for (std::size_t i = 0; i < graph.nodes().size(); ++i) {
    const ir::Node& n = graph.nodes()[i];
    json node = {{"index", i}, {"name", n.name}, {"op", n.op_type}, {"domain", n.domain}, {"inputs", json::array()},
                 {"outputs", json::array()}, {"attributes", json::object()}};
    for (ir::ValueId in : n.inputs) node["inputs"].push_back(tensor_json(graph, in));
    for (ir::ValueId o : n.outputs) node["outputs"].push_back(tensor_json(graph, o));
    for (const auto& [k, v] : n.attributes) node["attributes"][k] = attribute_json(v);
    if (json q = quantization_json(graph, n); !q.is_null()) node["quantization"] = q;
    out["nodes"].push_back(node);
  }
  return out;
}

std::string operations_table(const json& ops) {
  std::ostringstream t;
  char line[400];
  std::snprintf(line, sizeof line, "%-3s %-26s %-24s %-16s %-9s %-12s %-16s %-22s %s\n", "#", "node", "op", "output", "x s/zp",
                "w scale", "y s/zp", "multiplier (M0, n)", "acc bits");
  t << line;
  for (const auto& n : ops["nodes"]) {
    const auto& out = n["outputs"][0];
    std::string shape = out["dtype"].get<std::string>() + "[";
    for (std::size_t i = 0; i < out["shape"].size(); ++i) shape += (i ? "," : "") + out["shape"][i].dump();
    shape += "]";
    for (char& c : shape)
      if (c == '"') c = ' ';
    shape.erase(std::remove(shape.begin(), shape.end(), ' '), shape.end());
    std::string xs, ws, ys, mult, bits;
    if (n.contains("quantization")) {
      const auto& q = n["quantization"];
      char b[96];
      if (q.contains("x_scale")) std::snprintf(b, sizeof b, "%.4g/%d", q["x_scale"].get<double>(), q["x_zero_point"].get<int>()), xs = b;
      if (q.contains("y_scale")) std::snprintf(b, sizeof b, "%.4g/%d", q["y_scale"].get<double>(), q["y_zero_point"].get<int>()), ys = b;
      if (q.contains("w_scale")) {
        const auto& w = q["w_scale"];
        if (w.size() == 1) std::snprintf(b, sizeof b, "%.4g", w[0].get<double>());
        else std::snprintf(b, sizeof b, "%zu per-ch.", w.size());
        ws = b;
      }
      if (q.contains("multiplier_fixed")) {
        const auto& f = q["multiplier_fixed"].is_array() ? q["multiplier_fixed"][0] : q["multiplier_fixed"];
        std::snprintf(b, sizeof b, "%.4g (%lld, %d)%s", f["value"].get<double>(), f["m0"].get<long long>(), f["shift"].get<int>(),
                      q["multiplier_fixed"].is_array() && q["multiplier_fixed"].size() > 1 ? "..." : "");
        mult = b;
      } else if (q.contains("a_ratio")) {
        std::snprintf(b, sizeof b, "a %.4g, b %.4g", q["a_ratio"].get<double>(), q["b_ratio"].get<double>());
        mult = b;
      } else if (q.contains("scale")) {
        std::snprintf(b, sizeof b, "s %.4g zp %d", q["scale"][0].get<double>(), q["zero_point"][0].get<int>());
        xs = b;
      }
      if (q.contains("accumulator")) bits = std::to_string(q["accumulator"]["bits"].get<int>());
    }
    std::snprintf(line, sizeof line, "%-3d %-26s %-24s %-16s %-9s %-12s %-16s %-22s %s\n", n["index"].get<int>(),
                  n["name"].get<std::string>().c_str(),
                  (n["domain"].get<std::string>().empty() ? n["op"].get<std::string>() : "ms:" + n["op"].get<std::string>()).c_str(),
                  shape.c_str(), xs.c_str(), ws.c_str(), ys.c_str(), mult.c_str(), bits.c_str());
    t << line;
  }
  return t.str();
}

}  // namespace tinyq::inspect
