#pragma once
// Golden test vectors for hardware testbenches: per quantized layer, its
// quantized input, the int32 accumulators (after bias), the requantized output
// and the parameters used, for chosen test images, as .npy, $readmemh hex and
// a C header, plus a manifest. The integer engine's own tensors are what gets
// written; accumulators are recomputed with the engine's kernel and checked to
// requantize to the engine's output, so vectors and engine cannot disagree.
#include <filesystem>
#include <set>
#include <string>

#include "core/tensor.h"
#include "ir/graph.h"
#include "kernels/cpu_features.h"
#include "kernels/requant.h"

namespace tinyq::inspect {

struct GoldenOptions {
  kernels::RequantMode requant = kernels::RequantMode::float_multiplier;
  kernels::KernelPolicy kernels = kernels::KernelPolicy::auto_select;
  std::set<std::string> formats{"npy", "hex", "c"};
  std::vector<std::int64_t> image_indices;  // into the data set, for the manifest
  std::vector<int> labels;
};

// `images` is the f32 input batch; writes DIR/manifest.json and DIR/<layer>/... files.
// Returns the number of layers written.
int write_golden_vectors(const ir::Graph& quantized, const Tensor& images, const std::filesystem::path& dir, const GoldenOptions& options);

// One value per line, two's complement, `width` bits (8 or 32; f32 as IEEE-754 bits).
std::string to_readmemh(const Tensor& t);

}  // namespace tinyq::inspect
