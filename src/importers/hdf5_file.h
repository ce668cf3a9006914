#pragma once
// A small read-only view of an HDF5 file through the libhdf5 C API: RAII
// handles, string attributes (variable or fixed length), and float datasets.
// Every failure becomes a tinyq::Error naming the file and the object path;
// HDF5's own error stack printing is switched off.
#include <hdf5.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyq::importers {

class Hdf5Handle {
 public:
  Hdf5Handle() = default;
  Hdf5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;
  Hdf5Handle(Hdf5Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Hdf5Handle& operator=(Hdf5Handle&& other) noexcept;
  ~Hdf5Handle();
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

class Hdf5File {
 public:
  explicit Hdf5File(const std::filesystem::path& path);

  const std::string& name() const { return name_; }
  bool exists(const std::string& object_path) const;
  bool has_attribute(const std::string& object_path, const std::string& attribute) const;
  // A scalar string attribute (variable or fixed length).
  std::string string_attribute(const std::string& object_path, const std::string& attribute) const;
  // A 1-D array of strings; an empty non-string array (how Keras writes an
  // empty weight_names list) reads as an empty list.
  std::vector<std::string> string_list_attribute(const std::string& object_path, const std::string& attribute) const;
  Shape dataset_shape(const std::string& dataset_path) const;
  // Reads a float dataset; `max_elements` guards against absurd headers.
  Tensor read_f32(const std::string& dataset_path, std::size_t max_elements) const;

 private:
  Hdf5Handle open_attribute(const std::string& object_path, const std::string& attribute) const;
  std::string name_;
  Hdf5Handle file_;
};

}  // namespace tinyq::importers
