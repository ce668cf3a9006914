#include "importers/load_model.h"

#include "core/assets.h"
#include "core/error.h"
#include "importers/keras_h5.h"
#include "importers/onnx_model.h"
#include "importers/tflite_model.h"

namespace tinyq::importers {

ir::Graph load_model(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error(path.string() + ": model file not found; " + download_hint(path));
  const std::string ext = path.extension().string();
  if (ext == ".h5" || ext == ".hdf5" || ext == ".keras") return import_keras_h5(path);
  if (ext == ".onnx") return import_onnx(path);
  if (ext == ".tflite") return import_tflite(path);
  throw Error(path.string() + ": unknown model format '" + ext + "' (tinyq reads Keras .h5, .onnx and .tflite)");
}

}  // namespace tinyq::importers
