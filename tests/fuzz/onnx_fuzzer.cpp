// .onnx files: parsed by protobuf, then checked node by node by the importer.
// Whatever imports must also pass shape inference without crashing.
#include "fuzz_input.h"
#include "importers/onnx_model.h"
#include "ir/shape_inference.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = tinyq::fuzz::write_scratch(data, size, ".onnx");
  return tinyq::fuzz::expect_clean_rejection([&] { (void)tinyq::importers::import_onnx(path); });
}
