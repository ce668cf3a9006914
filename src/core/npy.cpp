#include "core/npy.h"

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace tinyq {
namespace {

std::string descr_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return "<f4";
    case DType::u8: return "|u1";
    case DType::s8: return "|i1";
    case DType::s32: return "<i4";
    case DType::s64: return "<i8";
  }
  return "";
}

DType dtype_of_descr(const std::string& descr, const std::string& file) {
  // Single-byte types have no byte order; NumPy writes '|' but '<' is legal too.
  const std::string normalized = (descr == "<u1" || descr == "<i1") ? "|" + descr.substr(1) : descr;
  for (DType d : {DType::f32, DType::u8, DType::s8, DType::s32, DType::s64})
    if (normalized == descr_of(d)) return d;
  throw Error(file + ": unsupported .npy dtype '" + descr + "' (tinyq reads <f4, u1, i1, <i4, <i8)");
}

}  // namespace

Tensor read_npy(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(file + ": cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY") throw Error(file + ": not a .npy file (bad magic)");
  std::uint32_t header_len = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) throw Error(file + ": truncated .npy header");
    header_len = b[0] | (b[1] << 8);
  } else if (magic[6] == 2 || magic[6] == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw Error(file + ": truncated .npy header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24);
  } else {
    throw Error(file + ": unsupported .npy version " + std::to_string(int(magic[6])));
  }
  if (header_len > 65536) throw Error(file + ": .npy header of " + std::to_string(header_len) + " bytes is implausible");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw Error(file + ": truncated .npy header");

  // The header is a Python dict literal; only three keys matter.
  auto value_after = [&](const std::string& key) -> std::string {
    const auto at = header.find("'" + key + "'");
    if (at == std::string::npos) throw Error(file + ": .npy header has no '" + key + "'");
    const auto colon = header.find(':', at);
    return colon == std::string::npos ? std::string() : header.substr(colon + 1);
  };
  const std::string descr_part = value_after("descr");
  const auto q1 = descr_part.find('\''), q2 = descr_part.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) throw Error(file + ": .npy header 'descr' is malformed");
  const DType dtype = dtype_of_descr(descr_part.substr(q1 + 1, q2 - q1 - 1), file);
  const std::string fortran = value_after("fortran_order");
  if (fortran.substr(0, fortran.find(',')).find("True") != std::string::npos)
    throw Error(file + ": Fortran-ordered .npy arrays are not supported");
  const std::string shape_part = value_after("shape");
  const auto open = shape_part.find('('), close = shape_part.find(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    throw Error(file + ": .npy header 'shape' is malformed");
  Shape shape;
  std::string digits;
  for (char c : shape_part.substr(open + 1, close - open - 1) + ",") {
    if (c >= '0' && c <= '9') {
      digits += c;
      if (digits.size() > 15) throw Error(file + ": .npy header 'shape' has an absurd dimension");
    } else if (c == ',') {
      if (!digits.empty()) shape.push_back(std::stoll(digits));
      digits.clear();
    } else if (c != ' ') {
      throw Error(file + ": .npy header 'shape' is malformed");
    }
  }

  // Check the payload size against the header before allocating, so a bogus
  // header cannot trigger a huge allocation.
  const auto payload_start = in.tellg();
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  const std::uint64_t payload = file_size - static_cast<std::uint64_t>(payload_start);
  std::uint64_t expected = dtype_size(dtype);
  for (auto d : shape)
    if (__builtin_mul_overflow(expected, static_cast<std::uint64_t>(d), &expected))
      throw Error(file + ": .npy header shape " + shape_to_string(shape) + " is larger than any file");
  if (expected != payload)
    throw Error(file + ": .npy payload is " + std::to_string(payload) + " bytes, header shape " +
                shape_to_string(shape) + " needs " + std::to_string(expected));
  Tensor t(dtype, shape);
  in.seekg(payload_start);
  in.read(reinterpret_cast<char*>(t.bytes().data()), static_cast<std::streamsize>(t.byte_size()));
  return t;
}

std::string encode_npy(const Tensor& tensor) {
  std::string dict = "{'descr': '" + descr_of(tensor.dtype()) + "', 'fortran_order': False, 'shape': (";
  for (auto d : tensor.shape()) dict += std::to_string(d) + ", ";
  // Python tuple syntax: (3,) keeps its comma, (3, 4) does not.
  if (tensor.shape().size() == 1) dict.resize(dict.size() - 1);
  if (tensor.shape().size() > 1) dict.resize(dict.size() - 2);
  dict += "), }";
  // Pad so that magic + length + header is a multiple of 64, ending in '\n'.
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  out.append(reinterpret_cast<const char*>(tensor.bytes().data()), tensor.byte_size());
  return out;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  write_file_atomically(path, encode_npy(tensor));
}

}  // namespace tinyq
