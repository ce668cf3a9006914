#pragma once
// Hdf5File in a child process. Debian's libhdf5 1.10 has memory errors on
// damaged files (the .h5 fuzzer found a use-after-free in attribute lookup and
// hangs in the global heap; see docs/RELIABILITY.md), and a library cannot be
// made safe from outside. So every libhdf5 call runs in a forked reader that
// answers requests over a socket: if libhdf5 crashes or stops answering, the
// parent kills the child and reports a clear error naming the file, instead of
// crashing or hanging. A good file reads exactly as through Hdf5File.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyq::importers {

class SandboxedHdf5File {
 public:
  explicit SandboxedHdf5File(const std::filesystem::path& path);
  SandboxedHdf5File(const SandboxedHdf5File&) = delete;
  SandboxedHdf5File& operator=(const SandboxedHdf5File&) = delete;
  ~SandboxedHdf5File();

  // The same contract as Hdf5File's methods of the same names.
  const std::string& name() const { return name_; }
  bool exists(const std::string& object_path) const;
  bool has_attribute(const std::string& object_path, const std::string& attribute) const;
  std::string string_attribute(const std::string& object_path, const std::string& attribute) const;
  std::vector<std::string> string_list_attribute(const std::string& object_path, const std::string& attribute) const;
  Shape dataset_shape(const std::string& dataset_path) const;
  Tensor read_f32(const std::string& dataset_path, std::size_t max_elements) const;

  // The reader process (tests stop it to check how its death is reported).
  pid_t reader_pid() const { return child_; }

 private:
  struct Reply;
  Reply call(int op, const std::string& a, const std::string& b, std::uint64_t n) const;
  [[noreturn]] void child_failed(const std::string& doing, bool silent) const;

  std::string name_;
  int socket_ = -1;
  pid_t child_ = -1;
};

}  // namespace tinyq::importers
