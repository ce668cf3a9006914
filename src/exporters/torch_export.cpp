#include <dlfcn.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "exporters/torch_archive.h"

namespace tinyq::exporters {
namespace {

using BytesFn = bool (*)(const void* input, std::string* out, std::string* error);

struct Plugin {
  void* handle = nullptr;
  BytesFn torchscript = nullptr, state_dict = nullptr;
  std::string error;
};

// Next to the running executable first (an installed tinyq), then where the
// build put it (tests run from other folders of the build tree).
std::vector<std::filesystem::path> candidates() {
  std::vector<std::filesystem::path> paths;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) paths.push_back(std::filesystem::path(std::string(exe, static_cast<std::size_t>(n))).parent_path() / "libtinyq_torch.so");
#ifdef TINYQ_TORCH_PLUGIN_PATH
  paths.emplace_back(TINYQ_TORCH_PLUGIN_PATH);
#endif
  return paths;
}

const Plugin& plugin() {
  static Plugin p;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& path : candidates()) {
      if (!std::filesystem::exists(path)) {
        tried += " " + path.string();
        continue;
      }
      p.handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!p.handle) {
        p.error = path.string() + " could not be loaded: " + ::dlerror();
        return;
      }
      p.torchscript = reinterpret_cast<BytesFn>(::dlsym(p.handle, "tinyq_torch_torchscript_bytes"));
      p.state_dict = reinterpret_cast<BytesFn>(::dlsym(p.handle, "tinyq_torch_state_dict_bytes"));
      if (!p.torchscript || !p.state_dict) p.error = path.string() + " lacks tinyq's entry points";
      return;
    }
    p.error = "the PyTorch export plugin libtinyq_torch.so was not found (looked for" + tried +
              "); it is built when libtorch is installed (Debian package libtorch-dev, installed by scripts/setup.sh)";
  });
  return p;
}

void write_with(BytesFn Plugin::*fn, const void* input, const std::filesystem::path& path, const char* what) {
  const Plugin& p = plugin();
  if (!p.error.empty()) throw Error(path.string() + ": cannot write the " + what + ": " + p.error);
  std::string bytes, error;
  if (!(p.*fn)(input, &bytes, &error)) throw Error(path.string() + ": " + what + ": " + error);
  write_file_atomically(path, bytes);
}

}  // namespace

bool torch_export_available(std::string* why) {
  const Plugin& p = plugin();
  if (why) *why = p.error;
  return p.error.empty();
}

void write_torchscript(const ir::Graph& graph, const std::filesystem::path& path) {
  const TorchScriptModule source = to_torchscript_module(graph);
  write_with(&Plugin::torchscript, &source, path, "TorchScript archive");
}

void write_state_dict(const std::vector<NamedTensor>& state_dict, const std::filesystem::path& path) {
  write_with(&Plugin::state_dict, &state_dict, path, "state_dict");
}

}  // namespace tinyq::exporters
