#pragma once
// The libtorch half of the PyTorch export: compiles the generated TorchScript
// into a torch::jit::Module and saves it, and saves a state_dict in the format
// Python's torch.load reads. The work happens in the plugin libtinyq_torch.so
// (built when libtorch is available), loaded only when these are called, so
// that no other command pays for loading libtorch.
#include <filesystem>

#include "exporters/pytorch_source.h"

namespace tinyq::exporters {

// Whether the plugin can be loaded; `why` says what is missing otherwise.
bool torch_export_available(std::string* why = nullptr);

// Loadable with torch.jit.load (Python) and torch::jit::load (C++).
void write_torchscript(const ir::Graph& graph, const std::filesystem::path& path);

// A dict {key: tensor} readable with torch.load, for EagerModule.load_state_dict.
void write_state_dict(const std::vector<NamedTensor>& state_dict, const std::filesystem::path& path);

}  // namespace tinyq::exporters
