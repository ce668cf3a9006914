#pragma once
// PyTorch code generated from the IR, in two forms:
//  - an eager nn.Module (Python source) built from nn.Conv2d, nn.BatchNorm2d,
//    nn.Linear, ... with a matching state_dict, for users who fine-tune or
//    quantize with torch.ao.quantization;
//  - a TorchScript `forward` over aten ops and flat parameters, which the
//    libtorch exporter compiles into a TorchScript archive.
// BatchNorm keeps its epsilon (Keras' 0.001, not PyTorch's 1e-5); an
// asymmetric 'same' padding becomes an explicit pad before the conv or pool.
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tinyq::exporters {

struct NamedTensor {
  std::string name;
  Tensor value;
  bool is_buffer = false;  // BatchNorm statistics and constants are buffers, not trainable
};

struct EagerModule {
  std::string class_name;
  std::string source;                   // a complete Python file
  std::vector<NamedTensor> state_dict;  // keys as module.state_dict() names them
};

struct TorchScriptModule {
  std::string forward_source;           // "def forward(self, input): ..."
  std::vector<NamedTensor> attributes;  // registered on the module under these names
};

// Throws Error naming the node when an op or attribute has no PyTorch form.
EagerModule to_eager_module(const ir::Graph& graph, const std::string& class_name);
TorchScriptModule to_torchscript_module(const ir::Graph& graph);

// "pretrainedResnet" -> "PretrainedResnet"; any character outside [A-Za-z0-9_] is dropped.
std::string python_class_name(const std::string& stem);

}  // namespace tinyq::exporters
