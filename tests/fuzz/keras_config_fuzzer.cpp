// The Keras model_config JSON (layers, options, inbound_nodes), with the
// weights of a real file: TINYQ_FUZZ_WEIGHTS names that .h5 (the smoke script
// uses the generated residual test model, whose layer names the seeds share).
#include "fuzz_input.h"
#include "importers/keras_h5.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string weights = [] {
    const char* env = std::getenv("TINYQ_FUZZ_WEIGHTS");
    if (!env || !*env) {
      std::fprintf(stderr, "keras_config_fuzzer: set TINYQ_FUZZ_WEIGHTS to a Keras .h5 file\n");
      std::exit(2);
    }
    return std::string(env);
  }();
  const std::string config(reinterpret_cast<const char*>(data), size);
  return tinyq::fuzz::expect_clean_rejection([&] { (void)tinyq::importers::import_keras_config(config, weights); });
}
