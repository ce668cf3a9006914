#include "importers/hdf5_file.h"

#include <cstring>

#include "core/error.h"
#include "importers/hdf5_preflight.h"

namespace tinyq::importers {

Hdf5Handle& Hdf5Handle::operator=(Hdf5Handle&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0 && close_) close_(id_);
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = -1;
  }
  return *this;
}

Hdf5Handle::~Hdf5Handle() {
  if (id_ >= 0 && close_) close_(id_);
}

Hdf5File::Hdf5File(const std::filesystem::path& path) : name_(path.string()) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported through tinyq::Error
  if (!std::filesystem::exists(path)) throw Error(name_ + ": file not found");
  preflight_hdf5(path);
  if (H5Fis_hdf5(name_.c_str()) <= 0) throw Error(name_ + ": not an HDF5 file (a Keras .h5 model was expected)");
  file_ = Hdf5Handle(H5Fopen(name_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file_.valid()) throw Error(name_ + ": cannot open as HDF5 (truncated or damaged file?)");
}

bool Hdf5File::exists(const std::string& object_path) const {
  // Check each path component in turn: H5Lexists fails on a missing parent.
  std::size_t pos = 0;
  while (true) {
    pos = object_path.find('/', pos + 1);
    const std::string prefix = object_path.substr(0, pos);
    if (!prefix.empty() && prefix != "/" && H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

bool Hdf5File::has_attribute(const std::string& object_path, const std::string& attribute) const {
  return exists(object_path) &&
         H5Aexists_by_name(file_.get(), object_path.c_str(), attribute.c_str(), H5P_DEFAULT) > 0;
}

Hdf5Handle Hdf5File::open_attribute(const std::string& object_path, const std::string& attribute) const {
  if (!has_attribute(object_path, attribute))
    throw Error(name_ + ": missing attribute '" + attribute + "' on '" + object_path + "'");
  Hdf5Handle attr(H5Aopen_by_name(file_.get(), object_path.c_str(), attribute.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                  H5Aclose);
  if (!attr.valid()) throw Error(name_ + ": cannot open attribute '" + attribute + "' on '" + object_path + "'");
  return attr;
}

std::string Hdf5File::string_attribute(const std::string& object_path, const std::string& attribute) const {
  auto list = string_list_attribute(object_path, attribute);
  if (list.size() != 1)
    throw Error(name_ + ": attribute '" + attribute + "' on '" + object_path + "' is not a single string");
  return list[0];
}

std::vector<std::string> Hdf5File::string_list_attribute(const std::string& object_path,
                                                         const std::string& attribute) const {
  const std::string where = name_ + ": attribute '" + attribute + "' on '" + object_path + "'";
  Hdf5Handle attr = open_attribute(object_path, attribute);
  Hdf5Handle type(H5Aget_type(attr.get()), H5Tclose);
  Hdf5Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0 || count > 1'000'000) throw Error(where + ": implausible element count");
  if (H5Tget_class(type.get()) != H5T_STRING) {
    if (count == 0) return {};
    throw Error(where + ": expected strings");
  }
  std::vector<std::string> result;
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> buffers(static_cast<std::size_t>(count), nullptr);
    Hdf5Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    // HDF5 converts no strings between ASCII and UTF-8: read in the file's own set
    // (TensorFlow writes ASCII, h5py UTF-8).
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    if (H5Aread(attr.get(), mem.get(), buffers.data()) < 0) throw Error(where + ": read failed");
    for (char* b : buffers) result.emplace_back(b ? b : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, buffers.data());
  } else {
    const std::size_t size = H5Tget_size(type.get());
    if (size == 0 || size > 1'000'000) throw Error(where + ": implausible string size");
    std::vector<char> raw(size * static_cast<std::size_t>(count) + 1, '\0');
    if (H5Aread(attr.get(), type.get(), raw.data()) < 0) throw Error(where + ": read failed");
    for (hssize_t i = 0; i < count; ++i) {
      const char* s = raw.data() + i * size;
      result.emplace_back(s, strnlen(s, size));
    }
  }
  return result;
}

Shape Hdf5File::dataset_shape(const std::string& dataset_path) const {
  if (!exists(dataset_path)) throw Error(name_ + ": missing dataset '" + dataset_path + "'");
  Hdf5Handle ds(H5Dopen2(file_.get(), dataset_path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw Error(name_ + ": '" + dataset_path + "' is not a readable dataset");
  Hdf5Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 8) throw Error(name_ + ": dataset '" + dataset_path + "' has an invalid rank");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return Shape(dims.begin(), dims.end());
}

Tensor Hdf5File::read_f32(const std::string& dataset_path, std::size_t max_elements) const {
  const Shape shape = dataset_shape(dataset_path);
  long double count = 1;
  for (auto d : shape) count *= static_cast<long double>(d);
  if (count > static_cast<long double>(max_elements))
    throw Error(name_ + ": dataset '" + dataset_path + "' claims shape " + shape_to_string(shape) +
                ", more elements than expected");
  Hdf5Handle ds(H5Dopen2(file_.get(), dataset_path.c_str(), H5P_DEFAULT), H5Dclose);
  Hdf5Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT)
    throw Error(name_ + ": dataset '" + dataset_path + "' is not floating point");
  Tensor t(DType::f32, shape);
  if (H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.bytes().data()) < 0)
    throw Error(name_ + ": cannot read dataset '" + dataset_path + "' (truncated or damaged file?)");
  return t;
}

}  // namespace tinyq::importers
