// Keras .h5 files: HDF5 structure, attributes and datasets (mutated copies of
// real files), through the same reader `tinyq eval model.h5` uses.
#include "fuzz_input.h"
#include "importers/keras_h5.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = tinyq::fuzz::write_scratch(data, size, ".h5");
  return tinyq::fuzz::expect_clean_rejection([&] { (void)tinyq::importers::import_keras_h5(path); });
}
