#include "quant/overrides.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace tinyq::quant {
namespace {

using nlohmann::json;

constexpr const char* kMethods[] = {"minmax", "entropy", "percentile", "mse"};

// Field readers: every failure names the file and the JSON path.
struct Reader {
  const std::string& source;
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw Error(source + ": " + where + ": " + what);
  }
  double number(const json& v, const std::string& where) const {
    if (!v.is_number()) fail(where, "expected a number, found " + std::string(v.type_name()));
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(where, "must be finite");
    return d;
  }
  bool boolean(const json& v, const std::string& where) const {
    if (!v.is_boolean()) fail(where, "expected true or false, found " + std::string(v.type_name()));
    return v.get<bool>();
  }
  int bits(const json& v, const std::string& where) const {
    if (!v.is_number_integer()) fail(where, "expected an integer number of bits (2..8)");
    const auto b = v.get<std::int64_t>();
    if (b < 2 || b > 8) fail(where, "bits must be 2..8, not " + std::to_string(b));
    return static_cast<int>(b);
  }
  void only_keys(const json& object, const std::set<std::string>& allowed, const std::string& where) const {
    if (!object.is_object()) fail(where, "expected an object, found " + std::string(object.type_name()));
    for (const auto& [key, value] : object.items())
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(where + "." + key, "unknown field (expected one of: " + list + ")");
      }
  }

  // Fields of an activation tensor, shared by "tensors" entries and layers.
  void tensor_fields(const json& o, TensorOverride& t, const std::string& where) const {
    if (o.contains("method")) {
      if (!o["method"].is_string()) fail(where + ".method", "expected a string");
      try {
        t.method = parse_calibration_method(o["method"].get<std::string>());
      } catch (const Error& e) {
        fail(where + ".method", e.what());
      }
    }
    if (o.contains("rmin") != o.contains("rmax")) fail(where, "rmin and rmax go together");
    if (o.contains("rmin")) {
      const double lo = number(o["rmin"], where + ".rmin"), hi = number(o["rmax"], where + ".rmax");
      if (std::abs(lo) > 1e30 || std::abs(hi) > 1e30) fail(where, "rmin and rmax must be within +-1e30");
      if (!(lo < hi)) fail(where, "rmin must be below rmax");
      if (lo > 0 || hi < 0) fail(where, "the range [rmin, rmax] must contain 0 (zero has to be exact)");
      t.range = Range{static_cast<float>(lo), static_cast<float>(hi)};
    }
    if (o.contains("range_scale")) {
      const double k = number(o["range_scale"], where + ".range_scale");
      if (!(k > 0)) fail(where + ".range_scale", "must be positive");
      if (k > 1e6) fail(where + ".range_scale", "must be at most 1e6");
      t.range_scale = k;
    }
    if (o.contains("bits")) t.bits = bits(o["bits"], where + ".bits");
    if (o.contains("symmetric")) t.symmetric = boolean(o["symmetric"], where + ".symmetric");
  }
};

}  // namespace

CalibrationMethod parse_calibration_method(const std::string& name) {
  for (int i = 0; i < 4; ++i)
    if (name == kMethods[i]) return static_cast<CalibrationMethod>(i);
  throw Error("unknown calibration method '" + name + "' (expected minmax, entropy, percentile or mse)");
}

const char* calibration_method_name(CalibrationMethod method) { return kMethods[static_cast<int>(method)]; }

Overrides overrides_from_json(const json& j, const std::string& source) {
  const Reader r{source};
  Overrides o;
  // "scheme" records what the overrides were made on (the playground writes
  // it); it is informational: the scheme comes from the command's flags.
  r.only_keys(j, {"layers", "tensors", "tinyq_overrides", "scheme"}, "(top level)");
  if (j.contains("tinyq_overrides") && j["tinyq_overrides"] != 1) r.fail("tinyq_overrides", "this tinyq reads version 1");
  if (j.contains("layers")) {
    if (!j["layers"].is_object()) r.fail("layers", "expected an object keyed by layer name");
    for (const auto& [name, v] : j["layers"].items()) {
      const std::string where = "layers." + name;
      r.only_keys(v, {"keep_float", "per_channel", "bits", "weight_bits", "activation_bits", "method", "rmin", "rmax", "range_scale", "symmetric"},
                  where);
      LayerOverride l;
      r.tensor_fields(v, l.output, where);
      // "bits" sets both the weights and the output; the specific keys win.
      if (v.contains("bits")) l.weight_bits = l.output.bits;
      if (v.contains("activation_bits")) l.output.bits = r.bits(v["activation_bits"], where + ".activation_bits");
      if (v.contains("weight_bits")) l.weight_bits = r.bits(v["weight_bits"], where + ".weight_bits");
      if (v.contains("keep_float")) l.keep_float = r.boolean(v["keep_float"], where + ".keep_float");
      if (v.contains("per_channel")) l.per_channel = r.boolean(v["per_channel"], where + ".per_channel");
      o.layers[name] = l;
    }
  }
  if (j.contains("tensors")) {
    if (!j["tensors"].is_object()) r.fail("tensors", "expected an object keyed by tensor name");
    for (const auto& [name, v] : j["tensors"].items()) {
      const std::string where = "tensors." + name;
      // ONNX Runtime's TensorQuantOverrides wrap each tensor's settings in a list.
      const json* body = &v;
      if (v.is_array()) {
        if (v.size() != 1) r.fail(where, "a list holds exactly one object here (per-channel activation overrides are not supported)");
        body = &v[0];
      }
      r.only_keys(*body, {"method", "rmin", "rmax", "range_scale", "bits", "symmetric"}, where);
      TensorOverride t;
      r.tensor_fields(*body, t, where);
      o.tensors[name] = t;
    }
  }
  return o;
}

Overrides read_overrides(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the overrides file");
  std::stringstream text;
  text << in.rdbuf();
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::exception& e) {  // syntax, or a number out of double's range
    throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  return overrides_from_json(j, path);
}

namespace {
void tensor_to_json(const TensorOverride& t, json& j) {
  if (t.method) j["method"] = calibration_method_name(*t.method);
  if (t.range) j["rmin"] = t.range->min, j["rmax"] = t.range->max;
  if (t.range_scale) j["range_scale"] = *t.range_scale;
  if (t.bits) j["activation_bits"] = *t.bits;
  if (t.symmetric) j["symmetric"] = *t.symmetric;
}
}  // namespace

json overrides_to_json(const Overrides& o) {
  json j = {{"tinyq_overrides", 1}, {"layers", json::object()}, {"tensors", json::object()}};
  for (const auto& [name, l] : o.layers) {
    if (l.empty()) continue;
    json e = json::object();
    if (l.keep_float) e["keep_float"] = true;
    if (l.per_channel) e["per_channel"] = *l.per_channel;
    if (l.weight_bits) e["weight_bits"] = *l.weight_bits;
    tensor_to_json(l.output, e);
    j["layers"][name] = e;
  }
  for (const auto& [name, t] : o.tensors) {
    if (t.empty()) continue;
    json e = json::object();
    tensor_to_json(t, e);
    if (e.contains("activation_bits")) e["bits"] = e["activation_bits"], e.erase("activation_bits");
    j["tensors"][name] = e;
  }
  return j;
}

}  // namespace tinyq::quant
