#include "framework/hdf5_probe.h"

#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

#include "framework/error.h"

namespace heed::h5 {

namespace {

// Reads `count` elements of `type` with `read`, then frees what HDF5 allocated for variable-
// length elements. Data that claims more than `limit` bytes is not read (the caller's own
// reading refuses it by its size).
template <class Read>
void read_all(hid_t type, hid_t space, int64_t limit, Read read) {
  const hid_t native = H5Tget_native_type(type, H5T_DIR_DEFAULT);
  if (native < 0) return;
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  const size_t size = H5Tget_size(native);
  if (count > 0 && size > 0 && static_cast<double>(count) * size <= static_cast<double>(limit)) {
    std::vector<char> buffer(static_cast<size_t>(count) * size);
    if (read(native, buffer.data()) >= 0 &&
        (H5Tdetect_class(native, H5T_VLEN) > 0 || H5Tis_variable_str(native) > 0))
      H5Dvlen_reclaim(native, space, H5P_DEFAULT, buffer.data());
  }
  H5Tclose(native);
}

herr_t read_attribute(hid_t object, const char* name, const H5A_info_t*, void* limit) {
  const hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
  if (attribute < 0) return 0;
  const hid_t type = H5Aget_type(attribute), space = H5Aget_space(attribute);
  if (type >= 0 && space >= 0)
    read_all(type, space, *static_cast<int64_t*>(limit),
             [&](hid_t memory, void* out) { return H5Aread(attribute, memory, out); });
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Aclose(attribute);
  return 0;
}

herr_t read_object(hid_t root, const char* name, const H5O_info_t* info, void* limit) {
  const hid_t object = H5Oopen(root, name, H5P_DEFAULT);
  if (object < 0) return 0;
  hsize_t index = 0;
  H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_NATIVE, &index, read_attribute, limit);
  if (info->type == H5O_TYPE_DATASET) {
    const hid_t type = H5Dget_type(object), space = H5Dget_space(object);
    if (type >= 0 && space >= 0)
      read_all(type, space, *static_cast<int64_t*>(limit), [&](hid_t memory, void* out) {
        return H5Dread(object, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
      });
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
  }
  H5Oclose(object);
  return 0;
}

// The child's exit status when it read the whole file, and when HDF5 refused some of it (the
// caller's own reading then says what). Any other ending, such as a sanitizer's report (status
// 1) or a signal, is a crash.
constexpr int kRead = 0, kRefused = 3;

// The child's whole life: open, read everything, leave without running any exit handler.
[[noreturn]] void probe(const std::function<int64_t()>& open, int64_t bytes) {
  // A crash must end the child by its signal, not run the parent's handlers (a test framework's
  // or a fuzzer's, which would report it as their own crash).
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
  int status = kRefused;
  try {
    const hid_t file = open();
    if (file >= 0) {
      // HDF5's filters (gzip) expand data by at most about 1,032 times.
      int64_t limit = bytes * 1100 + (int64_t{1} << 20);
      status =
          H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, read_object, &limit, H5O_INFO_BASIC) < 0
              ? kRefused
              : kRead;
    }
  } catch (...) {
  }
  ::_exit(status);
}

}  // namespace

void probe_in_child(const std::function<int64_t()>& open, int64_t bytes, const std::string& where) {
  const pid_t child = ::fork();
  HEED_CHECK(child >= 0, where, ": cannot fork to check the file: ", std::strerror(errno));
  if (child == 0) probe(open, bytes);
  // Reading from memory takes well under a second per 100 MB; ten seconds more is a hang.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10) +
                        std::chrono::milliseconds(bytes / 100000);
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      throw Error(where +
                  ": HDF5 did not finish reading this file within ten seconds: it is corrupt (the "
                  "file has no heed header, so no checksum could tell)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (WIFEXITED(status) && (WEXITSTATUS(status) == kRead || WEXITSTATUS(status) == kRefused))
    return;
  const std::string how = WIFSIGNALED(status)
                              ? strsignal(WTERMSIG(status))
                              : "exit status " + std::to_string(WEXITSTATUS(status));
  throw Error(where + ": HDF5 crashed reading this file (" + how +
              "): it is corrupt (the file has no heed header, so no checksum could tell)");
}

}  // namespace heed::h5
