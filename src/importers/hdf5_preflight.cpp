#include "importers/hdf5_preflight.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.h"

namespace tinyq::importers {
namespace {

std::uint64_t little_endian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A global heap collection ("GCOL", version 1) holds the variable-length
// strings Keras stores its model_config and weight names in. libhdf5 1.10
// walks its objects with `p = begin + need`, where need is the free-space
// object's stored size: a free-space object of size 0 never advances, and the
// library loops forever. Walk the collection as the library does and refuse
// one where the walk would not end.
void check_global_heap(const std::string& name, std::span<const unsigned char> bytes, std::size_t at) {
  constexpr std::size_t kHeader = 16, kObjectHeader = 16;  // with 8-byte lengths, as Keras files have
  if (at + kHeader > bytes.size() || bytes[at + 4] != 1) return;  // not a collection libhdf5 would decode
  const std::uint64_t size = little_endian(&bytes[at + 8], 8);
  if (size < kHeader) return;  // libhdf5 rejects these itself
  const std::uint64_t end = at + std::min<std::uint64_t>(size, bytes.size() - at);
  std::uint64_t p = at + kHeader;
  while (p < end) {
    if (p + kObjectHeader > end) break;  // trailing space too small for an object: free space
    const auto index = little_endian(&bytes[p], 2);
    const std::uint64_t object_size = little_endian(&bytes[p + 8], 8);
    const std::uint64_t need = index ? kObjectHeader + ((object_size + 7) & ~std::uint64_t{7}) : object_size;
    if (need == 0)
      throw Error(name + ": damaged HDF5 global heap at byte " + std::to_string(at) + " (free-space object of size 0 at byte " +
                  std::to_string(p) + "); refusing it, because libhdf5 would loop forever on it");
    if (need > end - p) break;  // runs past the collection: libhdf5 stops there
    p += need;
  }
}

}  // namespace

void preflight_hdf5(const std::filesystem::path& path) {
  const std::string name = path.string();
  // The whole file is scanned for collection signatures, because libhdf5
  // follows any address a damaged header gives it. Mapped, not read: a large
  // file costs no memory.
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // the caller reports unreadable files
  const off_t length = ::lseek(fd, 0, SEEK_END);
  void* map = length > 0 ? ::mmap(nullptr, static_cast<std::size_t>(length), PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (map == MAP_FAILED) return;
  struct Unmap {
    void* p;
    std::size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{map, static_cast<std::size_t>(length)};
  const std::span<const unsigned char> bytes(static_cast<const unsigned char*>(map), static_cast<std::size_t>(length));
  static constexpr unsigned char kSignature[4] = {'G', 'C', 'O', 'L'};
  for (auto it = bytes.begin();;) {
    it = std::search(it, bytes.end(), std::begin(kSignature), std::end(kSignature));
    if (it == bytes.end()) break;
    check_global_heap(name, bytes, static_cast<std::size_t>(it - bytes.begin()));
    ++it;
  }
}

}  // namespace tinyq::importers
