// .tflite flatbuffers: the FlatBuffers verifier first, then the importer's own
// checks of indices, shapes, buffers and quantization parameters.
#include "fuzz_input.h"
#include "importers/tflite_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = tinyq::fuzz::write_scratch(data, size, ".tflite");
  return tinyq::fuzz::expect_clean_rejection([&] { (void)tinyq::importers::import_tflite(path); });
}
