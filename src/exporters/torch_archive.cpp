#include "exporters/torch_archive.h"

#include <torch/script.h>
#include <torch/serialize.h>

#include "core/atomic_file.h"
#include "core/error.h"

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
    default: throw Error("tensor type has no torch equivalent");
  }
  std::vector<std::int64_t> sizes(t.shape().begin(), t.shape().end());
  return torch::from_blob(const_cast<std::byte*>(t.bytes().data()), sizes, at::TensorOptions().dtype(type)).clone();
}

}  // namespace

void write_torchscript(const ir::Graph& graph, const std::filesystem::path& path) {
  const TorchScriptModule source = to_torchscript_module(graph);
  torch::jit::Module module("TinyqModel");
  for (const auto& a : source.attributes) module.register_parameter(a.name, to_torch(a.value), a.is_buffer);
  try {
    module.define(source.forward_source);
  } catch (const std::exception& e) {
    throw Error(path.string() + ": TorchScript compilation of the generated forward failed: " + e.what());
  }
  module.eval();
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomically(path, bytes.str());
}

void write_state_dict(const std::vector<NamedTensor>& state_dict, const std::filesystem::path& path) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& entry : state_dict) dict.insert(entry.name, to_torch(entry.value));
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
}

}  // namespace tinyq::exporters
