// libtinyq_torch.so: the only code that includes libtorch. Loading libtorch
// costs about half a second (hundreds of shared libraries and their static
// initializers), so it lives in a plugin that `tinyq convert` and `tinyq
// compare` load on demand, and every other command starts without it.
#include <torch/script.h>
#include <torch/serialize.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "exporters/pytorch_source.h"

namespace tinyq::exporters {
namespace {

at::Tensor to_torch(const Tensor& t) {
  at::ScalarType type;
  switch (t.dtype()) {
    case DType::f32: type = at::kFloat; break;
    case DType::u8: type = at::kByte; break;
    case DType::s8: type = at::kChar; break;
    case DType::s32: type = at::kInt; break;
    case DType::s64: type = at::kLong; break;
    default: throw std::runtime_error("tensor type has no torch equivalent");
  }
  std::vector<std::int64_t> sizes(t.shape().begin(), t.shape().end());
  return torch::from_blob(const_cast<std::byte*>(t.bytes().data()), sizes, at::TensorOptions().dtype(type)).clone();
}

}  // namespace

}  // namespace tinyq::exporters

// The plugin's entry points (loaded with dlopen by exporters/torch_export.cpp).
// They return the archive's bytes; errors come back as text, never as an
// exception crossing the library boundary.
extern "C" bool tinyq_torch_torchscript_bytes(const tinyq::exporters::TorchScriptModule* source, std::string* out,
                                              std::string* error) {
  using namespace tinyq::exporters;
  try {
    torch::jit::Module module("TinyqModel");
    for (const auto& a : source->attributes) module.register_parameter(a.name, to_torch(a.value), a.is_buffer);
    try {
      module.define(source->forward_source);
    } catch (const std::exception& e) {
      *error = std::string("TorchScript compilation of the generated forward failed: ") + e.what();
      return false;
    }
    module.eval();
    std::ostringstream bytes;
    module.save(bytes);
    *out = bytes.str();
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

extern "C" bool tinyq_torch_state_dict_bytes(const std::vector<tinyq::exporters::NamedTensor>* state_dict, std::string* out,
                                             std::string* error) {
  using namespace tinyq::exporters;
  try {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (const auto& entry : *state_dict) dict.insert(entry.name, to_torch(entry.value));
    const std::vector<char> bytes = torch::pickle_save(dict);
    out->assign(bytes.data(), bytes.size());
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}
