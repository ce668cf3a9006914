#include "serve/playground_server.h"

#include <archive.h>
#include <archive_entry.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "eval/cifar10.h"
#include "exporters/onnx_exporter.h"
#include "inspect/golden.h"
#include "inspect/graph_drawing.h"
#include "inspect/operations.h"

#include <onnx/onnx_pb.h>

namespace tinyq::serve {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A request the client got wrong: answered 400 with the message.
struct BadRequest : Error {
  using Error::Error;
};

void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  // Non-finite numbers would make invalid JSON: error_handler_t::replace keeps
  // bad UTF-8 from throwing, and every double written here is finite.
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

json parse_body(const httplib::Request& req) {
  if (req.body.empty()) return json::object();
  try {
    return json::parse(req.body);
  } catch (const json::exception& e) {
    throw BadRequest(std::string("the request body is not valid JSON: ") + e.what());
  }
}

std::string query(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) throw BadRequest(std::string("missing query parameter '") + name + "'");
  return req.get_param_value(name);
}

std::int64_t query_index(const httplib::Request& req, const char* name, std::int64_t limit) {
  const std::string text = query(req, name);
  std::size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < 0 || v >= limit)
    throw BadRequest(std::string("query parameter '") + name + "' must be an integer 0.." + std::to_string(limit - 1) + ", not '" + text + "'");
  return v;
}

std::string read_text_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(p.string() + ": cannot read");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double finite_or(double v, double fallback) { return std::isfinite(v) ? v : fallback; }

json layer_stats_json(const LayerStats& l) {
  json j = {{"layer", l.layer},       {"op_type", l.op_type},   {"output", l.output},
            {"kept_float", l.kept_float}, {"bits", l.bits},     {"weight_bits", l.weight_bits},
            {"sqnr_alone_db", finite_or(l.sqnr_alone_db, 0)},   {"sqnr_accumulated_db", finite_or(l.sqnr_accumulated_db, 0)},
            {"cosine", finite_or(l.cosine, 0)},                 {"saturated", l.saturated}};
  j["weight_sqnr_db"] = l.weight_sqnr_db ? json(finite_or(*l.weight_sqnr_db, 0)) : json(nullptr);
  return j;
}

json snapshot_json(const Session& session, const Snapshot& s, const Snapshot* previous) {
  const std::size_t n = s.settings.eval_count;
  const auto& indices = session.eval_indices(n);
  const auto& fp32 = session.float_predictions(n);
  const auto& labels = session.test_images().labels;
  std::vector<std::vector<int>> confusion_diff(10, std::vector<int>(10, 0));
  json changed = json::array();
  std::size_t changed_count = 0;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const auto truth = labels[static_cast<std::size_t>(indices[i])];
    ++confusion_diff[truth][s.predictions[i]];
    --confusion_diff[truth][fp32[i]];
    if (s.predictions[i] != fp32[i]) {
      ++changed_count;
      if (changed.size() < 64)
        changed.push_back({{"index", indices[i]}, {"label", truth}, {"fp32", fp32[i]}, {"int8", s.predictions[i]}});
    }
  }
  json layers = json::array();
  for (const auto& l : s.layers) layers.push_back(layer_stats_json(l));
  json j = {{"version", s.version},
            {"settings", settings_to_json(s.settings)},
            {"overrides", quant::overrides_to_json(s.overrides)},
            {"fp32_accuracy", session.float_accuracy(n)},
            {"int8_accuracy", s.accuracy},
            {"eval_count", n},
            {"timing_ms", {{"build", s.build_ms}, {"evaluate", s.evaluate_ms}, {"layer_statistics", s.stats_ms}}},
            {"layers", layers},
            {"float_nodes", s.result.float_nodes},
            {"confusion_difference", confusion_diff},
            {"changed_count", changed_count},
            {"changed", changed}};
  j["previous_int8_accuracy"] = previous ? json(previous->accuracy) : json(nullptr);
  return j;
}

// The overrides of a request: the whole document, validated.
quant::Overrides overrides_of(const json& body, const quant::Overrides& current) {
  if (!body.contains("overrides")) return current;
  try {
    return quant::overrides_from_json(body["overrides"], "overrides");
  } catch (const Error& e) {
    throw BadRequest(e.what());
  }
}

Settings settings_of(const json& body, const Settings& current) {
  if (!body.contains("settings")) return current;
  try {
    return settings_from_json(body["settings"], current);
  } catch (const Error& e) {
    throw BadRequest(e.what());
  }
}

const quant::LayerQuantization& find_layer(const Snapshot& s, const std::string& name) {
  for (const auto& l : s.result.layers)
    if (l.node == name) return l;
  throw BadRequest("no quantized layer named '" + name + "'");
}

json histogram_json(const Tensor& f, const quant::TensorQuantization* p) {
  const auto v = f.data<float>();
  float lo = 0, hi = 0;
  for (float x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  if (p) {
    lo = std::min(lo, p->params.scales[0] * static_cast<float>(p->codes.qmin - p->params.zero_points[0]));
    hi = std::max(hi, p->params.scales[0] * static_cast<float>(p->codes.qmax - p->params.zero_points[0]));
  }
  const int bins = 120;
  const float width = hi > lo ? (hi - lo) / bins : 1.f;
  std::vector<std::uint64_t> counts(bins, 0);
  for (float x : v) counts[static_cast<std::size_t>(std::clamp(static_cast<int>((x - lo) / width), 0, bins - 1))]++;
  json j = {{"min", lo}, {"width", width}, {"counts", counts}};
  if (p) {
    const float s = p->params.scales[0];
    const int zp = p->params.zero_points[0];
    j["grid"] = {{"scale", s}, {"zero_point", zp}, {"qmin", p->codes.qmin}, {"qmax", p->codes.qmax},
                 {"rmin", s * static_cast<float>(p->codes.qmin - zp)}, {"rmax", s * static_cast<float>(p->codes.qmax - zp)},
                 {"observed_min", p->observed.min}, {"observed_max", p->observed.max}};
  }
  return j;
}

json layer_detail(const Session& session, const Snapshot& s, const std::string& name) {
  const auto& l = find_layer(s, name);
  json j;
  for (const auto& st : s.layers)
    if (st.layer == name) j["stats"] = layer_stats_json(st);
  std::map<std::string, const quant::TensorQuantization*> params;
  for (const auto& t : s.result.tensors) params[t.name] = &t;
  json tensors = json::array();
  for (const auto& t : l.inputs) {
    if (!params.count(t)) continue;
    const auto* p = params.at(t);
    tensors.push_back({{"role", "input"}, {"tensor", t}, {"scale", p->params.scales[0]}, {"zero_point", p->params.zero_points[0]}, {"bits", p->bits}});
  }
  const quant::TensorQuantization* out = params.count(l.output) ? params.at(l.output) : nullptr;
  if (out)
    tensors.push_back({{"role", "output"}, {"tensor", l.output}, {"scale", out->params.scales[0]}, {"zero_point", out->params.zero_points[0]},
                       {"bits", out->bits}, {"observed", {out->observed.min, out->observed.max}}, {"chosen", {out->chosen.min, out->chosen.max}}});
  j["tensors"] = tensors;
  j["kept_float"] = l.kept_float;
  // What `tinyq ops` says of this node in the integer model: multipliers
  // (float and fixed-point), accumulator bounds, weight statistics.
  const json ops = inspect::describe_operations(s.executor->graph());
  for (const auto& node : ops["nodes"])
    if (node["name"] == name) j["operation"] = node;
  j["histogram"] = histogram_json(session.float_tap(l.output), out);
  if (l.weight) {
    j["weight_scales"] = l.weight->scales;
    const Tensor& w = session.float_weights(name);
    const Tensor dq = quant::dequantize_weight(quant::quantize_weight(w, *l.weight), *l.weight);
    const std::size_t rows = static_cast<std::size_t>(w.shape()[0]), cols = w.element_count() / rows;
    json fl = json::array(), dql = json::array(), err = json::array();
    for (std::size_t r = 0; r < rows; ++r) {
      json a = json::array(), b = json::array(), c = json::array();
      for (std::size_t i = r * cols; i < (r + 1) * cols; ++i) {
        const float x = w.data<float>()[i], d = dq.data<float>()[i];
        a.push_back(x), b.push_back(d), c.push_back(d - x);
      }
      fl.push_back(a), dql.push_back(b), err.push_back(c);
    }
    j["weights"] = {{"shape", w.shape()}, {"float", fl}, {"dequantized", dql}, {"error", err}};
  }
  return j;
}

// One image's activation of a layer, float and integer (dequantized).
json activation_json(const Session& session, const Snapshot& s, const std::string& name, std::int64_t image) {
  const auto& l = find_layer(s, name);
  const Tensor input = session.test_image(image);
  const auto f = session.float_tensors(input, {l.output});
  const auto q = session.integer_tensors(s, input, {l.output});
  const auto fv = f.at(l.output).data<float>();
  return {{"layer", name},
          {"image", image},
          {"shape", f.at(l.output).shape()},
          {"float", std::vector<float>(fv.begin(), fv.end())},
          {"int8_dequantized", q.at(l.output)}};
}

// Per-layer SQNR of one image, and where it first falls well below what the
// layer shows on average (the first layer where this image diverges).
json divergence_json(const Session& session, const Snapshot& s, std::int64_t image) {
  std::vector<std::string> names;
  for (const auto& l : s.result.layers) names.push_back(l.output);
  const Tensor input = session.test_image(image);
  const auto f = session.float_tensors(input, names);
  const auto q = session.integer_tensors(s, input, names);
  json layers = json::array();
  json first = nullptr;
  for (std::size_t k = 0; k < s.result.layers.size(); ++k) {
    const auto fv = f.at(names[k]).data<float>();
    const auto& qv = q.at(names[k]);
    double signal = 0, noise = 0;
    for (std::size_t i = 0; i < fv.size(); ++i) {
      signal += static_cast<double>(fv[i]) * fv[i];
      noise += (static_cast<double>(fv[i]) - qv[i]) * (static_cast<double>(fv[i]) - qv[i]);
    }
    const double db = sqnr_db(signal, noise);
    const double average = k < s.layers.size() ? s.layers[k].sqnr_accumulated_db : db;
    if (first.is_null() && db < average - 3.0) first = s.result.layers[k].node;
    layers.push_back({{"layer", s.result.layers[k].node}, {"sqnr_db", db}, {"average_sqnr_db", average}});
  }
  return {{"image", image}, {"label", session.test_images().labels[static_cast<std::size_t>(image)]}, {"layers", layers},
          {"first_divergent_layer", first},
          {"rule", "the first layer whose SQNR on this image is more than 3 dB below its average over the statistics images"}};
}

// A .tar.gz of the files under `dir` whose relative path passes `keep`.
std::string tar_gz(const fs::path& dir, const std::function<bool(const std::string&)>& keep) {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  archive_write_add_filter_gzip(a.get());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_open(
      a.get(), &out, nullptr,
      [](archive*, void* client, const void* buffer, size_t length) -> la_ssize_t {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
        return static_cast<la_ssize_t>(length);
      },
      nullptr);
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).string();
    if (!keep(rel)) continue;
    const std::string data = read_text_file(e.path());
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), ("golden/" + rel).c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_write_header(a.get(), entry.get());
    archive_write_data(a.get(), data.data(), data.size());
  }
  archive_write_close(a.get());
  return out;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tinyq-serve-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw Error("cannot create a temporary folder");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

}  // namespace

void serve(Session& session, const ServerOptions& options, const std::function<void(int)>& on_listening) {
  httplib::Server server;
  const std::string graph_svg = inspect::render_graph(inspect::graph_to_dot(session.calibration().prepared, inspect::Detail::low), "svg");
  std::mutex previous_mutex;
  std::shared_ptr<const Snapshot> previous;

  // Bodies are small JSON documents: anything larger is refused before it is read.
  server.set_payload_max_length(options.max_body_bytes * 4);
  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    std::uint64_t length = 0;
    try {
      if (req.has_header("Content-Length")) length = std::stoull(req.get_header_value("Content-Length"));
    } catch (const std::exception&) {
      length = 0;  // httplib itself refuses a malformed length
    }
    if (length > options.max_body_bytes) {
      send_json(res, {{"error", "the request body has " + std::to_string(length) + " bytes; the limit is " + std::to_string(options.max_body_bytes)}}, 400);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const BadRequest& e) {
      send_json(res, {{"error", e.what()}}, 400);
    } catch (const Error& e) {
      send_json(res, {{"error", e.what()}}, 400);
    } catch (const std::exception& e) {
      send_json(res, {{"error", std::string("internal error: ") + e.what()}}, 500);
    } catch (...) {
      send_json(res, {{"error", "internal error"}}, 500);
    }
  });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) send_json(res, {{"error", "no such resource: " + req.method + " " + req.path}}, res.status);
  });

  // The page and its packages.
  auto serve_file = [](const fs::path& file, const char* type) {
    return [file, type](const httplib::Request&, httplib::Response& res) { res.set_content(read_text_file(file), type); };
  };
  server.Get("/", serve_file(options.web_dir / "index.html", "text/html; charset=utf-8"));
  server.Get("/app.js", serve_file(options.web_dir / "app.js", "text/javascript"));
  server.Get("/style.css", serve_file(options.web_dir / "style.css", "text/css"));
  server.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  const fs::path nm = options.node_modules_dir;
  server.Get("/vendor/preact.mjs", serve_file(nm / "preact/dist/preact.mjs", "text/javascript"));
  server.Get("/vendor/hooks.mjs", serve_file(nm / "preact/hooks/dist/hooks.mjs", "text/javascript"));
  server.Get("/vendor/htm.mjs", serve_file(nm / "htm/dist/htm.mjs", "text/javascript"));
  server.Get("/vendor/plotly.min.js", serve_file(nm / "plotly.js-dist-min/plotly.min.js", "text/javascript"));

  // The API (docs/playground.md).
  server.Get("/api/model", [&](const httplib::Request&, httplib::Response& res) {
    json layers = json::array();
    for (const auto& l : session.current()->result.layers) layers.push_back({{"name", l.node}, {"op_type", l.op_type}, {"output", l.output}});
    json nodes = json::array(), tensors = json::array();
    for (const auto& n : session.calibration().prepared.nodes()) nodes.push_back(n.name);
    for (const auto& [name, o] : session.calibration().observers) tensors.push_back(name);
    send_json(res, {{"model", session.model_name()},
                    {"path", session.options().model},
                    {"classes", session.class_names()},
                    {"calibration_images", session.calibration().image_count},
                    {"statistics_images", session.stats_image_count()},
                    {"layers", layers},
                    {"graph_nodes", nodes},
                    {"tensors", tensors}});
  });
  server.Get("/api/evaluation", [&](const httplib::Request&, httplib::Response& res) {
    // Which test images the accuracy is measured on (so peers can rerun them).
    const std::size_t count = session.current()->settings.eval_count;
    json labels = json::array();
    for (auto i : session.eval_indices(count)) labels.push_back(session.test_images().labels[static_cast<std::size_t>(i)]);
    send_json(res, {{"test_batch_indices", session.eval_indices(count)}, {"labels", labels}, {"fp32_accuracy", session.float_accuracy(count)}});
  });
  server.Get("/api/graph.svg", [&](const httplib::Request&, httplib::Response& res) { res.set_content(graph_svg, "image/svg+xml"); });
  server.Get("/api/state", [&](const httplib::Request&, httplib::Response& res) {
    const auto s = session.current();
    std::lock_guard lock(previous_mutex);
    send_json(res, snapshot_json(session, *s, previous.get()));
  });
  server.Post("/api/edit", [&](const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    if (!body.is_object()) throw BadRequest("the request body must be a JSON object");
    for (const auto& [key, v] : body.items())
      if (key != "settings" && key != "overrides") throw BadRequest("unknown field '" + key + "' (expected settings, overrides)");
    const auto before = session.current();
    const Settings settings = settings_of(body, before->settings);
    const quant::Overrides overrides = overrides_of(body, before->overrides);
    const auto after = session.apply(settings, overrides);
    {
      std::lock_guard lock(previous_mutex);
      previous = before;
    }
    send_json(res, snapshot_json(session, *after, before.get()));
  });
  server.Post("/api/trial", [&](const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    if (!body.is_object()) throw BadRequest("the request body must be a JSON object");
    const auto base = session.current();
    const auto t = session.trial(settings_of(body, base->settings), overrides_of(body, base->overrides));
    send_json(res, {{"int8_accuracy", t->accuracy}, {"timing_ms", {{"build", t->build_ms}, {"evaluate", t->evaluate_ms}}}});
  });
  server.Get("/api/layer", [&](const httplib::Request& req, httplib::Response& res) {
    send_json(res, layer_detail(session, *session.current(), query(req, "name")));
  });
  server.Get("/api/activation", [&](const httplib::Request& req, httplib::Response& res) {
    const auto image = query_index(req, "image", static_cast<std::int64_t>(session.test_images().size()));
    send_json(res, activation_json(session, *session.current(), query(req, "layer"), image));
  });
  server.Get("/api/divergence", [&](const httplib::Request& req, httplib::Response& res) {
    const auto image = query_index(req, "image", static_cast<std::int64_t>(session.test_images().size()));
    send_json(res, divergence_json(session, *session.current(), image));
  });
  server.Get("/api/image", [&](const httplib::Request& req, httplib::Response& res) {
    // Raw CIFAR-10 pixels, planar R, G, B (3 x 32 x 32 bytes); the page draws them.
    const auto i = query_index(req, "index", static_cast<std::int64_t>(session.test_images().size()));
    const auto bytes = session.test_images().images.bytes().subspan(static_cast<std::size_t>(i * eval::kCifarPixels), eval::kCifarPixels);
    res.set_content(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), "application/octet-stream");
  });
  auto onnx_bytes = [](const ir::Graph& g) {
    std::string out;
    if (!exporters::to_onnx_model(g).SerializeToString(&out)) throw Error("could not serialize the model");
    return out;
  };
  server.Get("/api/export/qdq.onnx", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Disposition", "attachment; filename=\"model_qdq.onnx\"");
    res.set_content(onnx_bytes(session.current()->result.qdq), "application/octet-stream");
  });
  server.Get("/api/export/qop.onnx", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Disposition", "attachment; filename=\"model_qop.onnx\"");
    res.set_content(onnx_bytes(session.current()->qoperator), "application/octet-stream");
  });
  server.Get("/api/export/ops.json", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Disposition", "attachment; filename=\"ops.json\"");
    send_json(res, inspect::describe_operations(session.current()->executor->graph()));
  });
  server.Get("/api/export/overrides.json", [&](const httplib::Request&, httplib::Response& res) {
    const auto s = session.current();
    json j = quant::overrides_to_json(s->overrides);
    // The scheme the overrides were made on, as `tinyq quantize` flags.
    std::string flags = std::string("--method ") + quant::calibration_method_name(s->settings.method) +
                        (s->settings.per_channel ? " --per-channel" : "") + " --act " + (s->settings.activation == DType::u8 ? "u8" : "s8") +
                        (s->settings.reduce_range ? " --reduce-range" : "") + (s->settings.symmetric ? " --symmetric-act" : "") +
                        " --calib-count " + std::to_string(session.options().calibration_count);
    j["scheme"] = {{"settings", settings_to_json(s->settings)}, {"quantize_flags", flags}};
    res.set_header("Content-Disposition", "attachment; filename=\"overrides.json\"");
    res.set_content(j.dump(2) + "\n", "application/json");
  });
  server.Get("/api/export/golden", [&](const httplib::Request& req, httplib::Response& res) {
    const auto s = session.current();
    const std::string layer = query(req, "layer");
    find_layer(*s, layer);
    const auto image = query_index(req, "image", static_cast<std::int64_t>(session.test_images().size()));
    TempDir dir;
    inspect::GoldenOptions go;
    go.requant = s->settings.requant;
    go.image_indices = {image};
    go.labels = {session.test_images().labels[static_cast<std::size_t>(image)]};
    inspect::write_golden_vectors(s->executor->graph(), session.test_image(image), dir.path, go);
    // The manifest names each layer's folder ("<index>_<identifier>").
    std::string folder;
    const json manifest = json::parse(read_text_file(dir.path / "manifest.json"));
    for (const auto& entry : manifest.at("layers"))
      if (entry.at("node") == layer) folder = entry.at("folder").get<std::string>();
    if (folder.empty()) throw BadRequest("layer '" + layer + "' has no golden vectors (it runs in float)");
    const std::string archive_bytes = tar_gz(dir.path, [&](const std::string& rel) { return rel == "manifest.json" || rel.rfind(folder + "/", 0) == 0; });
    res.set_header("Content-Disposition", "attachment; filename=\"golden.tar.gz\"");
    res.set_content(archive_bytes, "application/gzip");
  });

  if (!is_loopback(options.host))
    std::fprintf(stderr, "warning: serving on %s, which is not a loopback address: anyone who can reach this machine can use the playground\n",
                 options.host.c_str());
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port < 0) throw Error("cannot bind to " + options.host);
  } else if (!server.bind_to_port(options.host, port)) {
    throw Error("cannot listen on " + options.host + ":" + std::to_string(port) + " (in use, or not an address of this machine)");
  }
  on_listening(port);
  server.listen_after_bind();
}

}  // namespace tinyq::serve
