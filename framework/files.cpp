#include "framework/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "framework/error.h"

namespace heed::files {

namespace {

int64_t env_number(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

// The test hooks of files.h, read once.
const int64_t kWriteLimit = env_number("HEED_TEST_WRITE_LIMIT", -1);
const int64_t kSlowWritesMs = env_number("HEED_TEST_SLOW_WRITES_MS", 0);
std::atomic<int64_t> g_written{0};

[[noreturn]] void fail(const std::string& kind, const std::string& path, const char* what,
                       int error) {
  throw Error("cannot " + std::string(what) + " " + kind + " " + path + ": " +
              std::strerror(error));
}

// One write(2) after another until all of `bytes` is written; throws with errno's reason.
void write_all(int fd, std::string_view bytes, const std::string& kind, const std::string& path) {
  while (!bytes.empty()) {
    size_t chunk = bytes.size();
    if (kWriteLimit >= 0) {
      const int64_t left = kWriteLimit - g_written.load();
      if (left <= 0) fail(kind, path, "write", ENOSPC);
      chunk = std::min<size_t>(chunk, static_cast<size_t>(left));
    }
    const ssize_t n = ::write(fd, bytes.data(), chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(kind, path, "write", errno);
    if (n == 0) fail(kind, path, "write", ENOSPC);
    g_written += n;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void sync_fd(int fd, const std::string& kind, const std::string& path) {
  if (::fsync(fd) != 0) fail(kind, path, "sync", errno);
}

}  // namespace

void write_atomically(const std::string& path, std::string_view bytes, const std::string& kind) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(kind, path, "create a temporary file for", errno);
  try {
    write_all(fd, bytes, kind, path);
    sync_fd(fd, kind, path);
    const int rc = ::close(fd);
    if (rc != 0) fail(kind, path, "write", errno);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (kSlowWritesMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(kSlowWritesMs));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    fail(kind, path, "rename the temporary file over", error);
  }
  sync_directory(std::filesystem::path(path).parent_path().string());
}

std::string read(const std::string& path, const std::string& kind) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(kind, path, "open", errno);
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      fail(kind, path, "read", error);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

void sync_directory(const std::string& dir) {
  const std::string d = dir.empty() ? "." : dir;
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("directory", d, "open", errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) fail("directory", d, "sync", error);
}

bool is_temporary(const std::string& filename) {
  const size_t at = filename.rfind(".tmp");
  if (at == std::string::npos || at + 4 == filename.size()) return false;
  return filename.find_first_not_of("0123456789", at + 4) == std::string::npos;
}

AppendFile::AppendFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("file", path, "open", errno);
}

AppendFile::AppendFile(AppendFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

AppendFile& AppendFile::operator=(AppendFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(std::string_view lines) {
  const int64_t before = size();
  try {
    write_all(fd_, lines, "file", path_);
  } catch (...) {
    // A torn line would make the file unreadable as JSON lines; drop it.
    if (::ftruncate(fd_, before) != 0) {
      // Nothing more can be done: the error being thrown names the file already.
    }
    throw;
  }
}

void AppendFile::sync() {
  sync_fd(fd_, "file", path_);
}

int64_t AppendFile::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) fail("file", path_, "stat", errno);
  return st.st_size;
}

void AppendFile::truncate(int64_t bytes) {
  if (::ftruncate(fd_, bytes) != 0) fail("file", path_, "truncate", errno);
}

}  // namespace heed::files
