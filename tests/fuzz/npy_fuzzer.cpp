// .npy files a user hands tinyq: index lists, inputs for `tinyq run`.
#include "core/npy.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = tinyq::fuzz::write_scratch(data, size, ".npy");
  return tinyq::fuzz::expect_clean_rejection([&] {
    const tinyq::Tensor t = tinyq::read_npy(path);
    // What was read must round-trip: the header and the data agree.
    const std::string again = tinyq::encode_npy(t);
    if (again.size() < t.byte_size()) std::abort();
  });
}
