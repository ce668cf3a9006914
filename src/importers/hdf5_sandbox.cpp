#include "importers/hdf5_sandbox.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "importers/hdf5_file.h"

// Present only in sanitizer builds (tests, fuzzing): lets the child die of a
// sanitizer report without running the parent's death callback (libFuzzer's
// would record the parent's input as a crash of its own).
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace tinyq::importers {
namespace {

// Requests: op byte, two strings, one number. Replies: status byte (0 ok,
// 1 tinyq::Error with its message), then the op's payload.
enum Op : std::uint8_t { kOpen, kExists, kHasAttribute, kStringList, kShape, kReadF32 };

// A reader that takes longer than this to answer one request is stuck.
constexpr int kReplyTimeoutMs = 60'000;

class Wire {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void u64(std::uint64_t v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    bytes_ += s;
  }
  void raw(std::span<const std::byte> b) { bytes_.append(reinterpret_cast<const char*>(b.data()), b.size()); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

bool send_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  // Framed by a length prefix written first (see frame()).
  return true;
}

std::string frame(const std::string& body) {
  Wire w;
  w.u64(body.size());
  return w.bytes() + body;
}

enum class Received { all, closed, silent };

// Reads exactly n bytes; `silent` when timeout_ms >= 0 passes with nothing.
Received recv_all(int fd, char* out, std::size_t n, int timeout_ms) {
  std::size_t done = 0;
  while (done < n) {
    if (timeout_ms >= 0) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, timeout_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return Received::silent;
      if (r < 0) return Received::closed;
    }
    const ssize_t got = ::recv(fd, out + done, n - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Received::closed;
    done += static_cast<std::size_t>(got);
  }
  return Received::all;
}

class Reader {
 public:
  explicit Reader(std::vector<char> bytes) : bytes_(std::move(bytes)) {}
  std::uint8_t u8() {
    std::uint8_t v;
    std::memcpy(&v, take(1), 1);
    return v;
  }
  std::uint64_t u64() {
    std::uint64_t v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  std::string str() {
    const std::uint64_t n = u64();
    return std::string(take(n), n);
  }
  const char* take(std::uint64_t n) {
    if (n > bytes_.size() - at_) throw Error("hdf5 sandbox: short message");
    const char* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }

 private:
  std::vector<char> bytes_;
  std::size_t at_ = 0;
};

void put_shape(Wire& w, const Shape& shape) {
  w.u64(shape.size());
  for (auto d : shape) w.u64(static_cast<std::uint64_t>(d));
}

Shape get_shape(Reader& r) {
  const std::uint64_t rank = r.u64();
  if (rank > 8) throw Error("hdf5 sandbox: bad rank");
  Shape shape;
  for (std::uint64_t i = 0; i < rank; ++i) shape.push_back(static_cast<std::int64_t>(r.u64()));
  return shape;
}

// The child: open the file, then answer requests until the parent hangs up.
[[noreturn]] void serve(int fd, const std::filesystem::path& path) {
  // Die by the signal itself if libhdf5 faults, so the parent can name it.
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::signal(sig, SIG_DFL);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
  std::unique_ptr<Hdf5File> file;
  while (true) {
    std::uint64_t length = 0;
    if (recv_all(fd, reinterpret_cast<char*>(&length), sizeof length, -1) != Received::all || length > (1u << 20))
      ::_exit(0);
    std::vector<char> body(length);
    if (recv_all(fd, body.data(), length, -1) != Received::all) ::_exit(0);
    Reader request(std::move(body));
    Wire reply;
    try {
      const auto op = request.u8();
      const std::string a = request.str(), b = request.str();
      const std::uint64_t n = request.u64();
      Wire payload;
      switch (op) {
        case kOpen: file = std::make_unique<Hdf5File>(path); break;
        case kExists: payload.u8(file->exists(a)); break;
        case kHasAttribute: payload.u8(file->has_attribute(a, b)); break;
        case kStringList: {
          const auto list = file->string_list_attribute(a, b);
          payload.u64(list.size());
          for (const auto& s : list) payload.str(s);
          break;
        }
        case kShape: put_shape(payload, file->dataset_shape(a)); break;
        case kReadF32: {
          const Tensor t = file->read_f32(a, static_cast<std::size_t>(n));
          put_shape(payload, t.shape());
          payload.raw(t.bytes());
          break;
        }
        default: throw Error("hdf5 sandbox: unknown request");
      }
      reply.u8(0);
      reply.raw(std::as_bytes(std::span(payload.bytes())));
    } catch (const std::exception& e) {
      reply = Wire();
      reply.u8(1);
      reply.str(e.what());
    }
    if (!send_all(fd, frame(reply.bytes()))) ::_exit(0);
  }
}

}  // namespace

struct SandboxedHdf5File::Reply {
  Reader payload;
};

SandboxedHdf5File::SandboxedHdf5File(const std::filesystem::path& path) : name_(path.string()) {
  if (!std::filesystem::exists(path)) throw Error(name_ + ": file not found");
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw Error(name_ + ": cannot start the HDF5 reader: " + std::strerror(errno));
  child_ = ::fork();
  if (child_ < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(name_ + ": cannot start the HDF5 reader: " + std::strerror(errno));
  }
  if (child_ == 0) {
    ::close(fds[0]);
    serve(fds[1], path);
  }
  ::close(fds[1]);
  socket_ = fds[0];
  call(kOpen, "", "", 0);
}

SandboxedHdf5File::~SandboxedHdf5File() {
  if (socket_ >= 0) ::close(socket_);  // the child sees EOF and exits
  if (child_ > 0) {
    int status = 0;
    while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void SandboxedHdf5File::child_failed(const std::string& doing, bool silent) const {
  int status = 0;
  std::string what;
  if (silent) {  // alive but stuck inside libhdf5
    ::kill(child_, SIGKILL);
    ::waitpid(child_, &status, 0);
    what = "libhdf5 did not answer within " + std::to_string(kReplyTimeoutMs / 1000) + " s";
  } else {
    while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
      what = "libhdf5 crashed (signal " + std::to_string(WTERMSIG(status)) + ", " + strsignal(WTERMSIG(status)) + ")";
    else
      what = "the HDF5 reader stopped (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  }
  const_cast<SandboxedHdf5File*>(this)->child_ = -1;
  throw Error(name_ + ": " + what + " while " + doing + "; the file is damaged or not a Keras .h5 model");
}

SandboxedHdf5File::Reply SandboxedHdf5File::call(int op, const std::string& a, const std::string& b,
                                                 std::uint64_t n) const {
  Wire request;
  request.u8(static_cast<std::uint8_t>(op));
  request.str(a);
  request.str(b);
  request.u64(n);
  const std::string doing = op == kOpen ? "opening the file" : "reading '" + a + (b.empty() ? "" : "' attribute '" + b) + "'";
  if (child_ <= 0) throw Error(name_ + ": the HDF5 reader is gone");
  if (!send_all(socket_, frame(request.bytes()))) child_failed(doing, false);
  std::uint64_t length = 0;
  if (auto r = recv_all(socket_, reinterpret_cast<char*>(&length), sizeof length, kReplyTimeoutMs); r != Received::all)
    child_failed(doing, r == Received::silent);
  std::vector<char> body(length);
  if (auto r = recv_all(socket_, body.data(), length, kReplyTimeoutMs); r != Received::all)
    child_failed(doing, r == Received::silent);
  Reply reply{Reader(std::move(body))};
  if (reply.payload.u8() != 0) throw Error(reply.payload.str());
  return reply;
}

bool SandboxedHdf5File::exists(const std::string& object_path) const {
  return call(kExists, object_path, "", 0).payload.u8() != 0;
}

bool SandboxedHdf5File::has_attribute(const std::string& object_path, const std::string& attribute) const {
  return call(kHasAttribute, object_path, attribute, 0).payload.u8() != 0;
}

std::vector<std::string> SandboxedHdf5File::string_list_attribute(const std::string& object_path,
                                                                  const std::string& attribute) const {
  Reply reply = call(kStringList, object_path, attribute, 0);
  std::vector<std::string> list(reply.payload.u64());
  for (auto& s : list) s = reply.payload.str();
  return list;
}

std::string SandboxedHdf5File::string_attribute(const std::string& object_path, const std::string& attribute) const {
  auto list = string_list_attribute(object_path, attribute);
  if (list.size() != 1)
    throw Error(name_ + ": attribute '" + attribute + "' on '" + object_path + "' is not a single string");
  return list[0];
}

Shape SandboxedHdf5File::dataset_shape(const std::string& dataset_path) const {
  Reply reply = call(kShape, dataset_path, "", 0);
  return get_shape(reply.payload);
}

Tensor SandboxedHdf5File::read_f32(const std::string& dataset_path, std::size_t max_elements) const {
  Reply reply = call(kReadF32, dataset_path, "", max_elements);
  const Shape shape = get_shape(reply.payload);
  Tensor t(DType::f32, shape);
  std::memcpy(t.bytes().data(), reply.payload.take(t.byte_size()), t.byte_size());
  return t;
}

}  // namespace tinyq::importers
