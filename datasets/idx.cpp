#include "datasets/idx.h"

#define ZLIB_CONST  // next_in points to const bytes
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "framework/error.h"

namespace heed::data {
namespace {

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr uint64_t kMaxElements = uint64_t{1} << 31;
// Caps one inflate call (it counts in unsigned) and how far the buffer grows ahead of the bytes
// actually present, so a corrupt header cannot make us allocate 2 GiB for a 20-byte file.
constexpr size_t kChunkBytes = size_t{1} << 24;
constexpr size_t kFirstChunkBytes = size_t{1} << 16;
constexpr uint8_t kGzipMagic[2] = {0x1f, 0x8b};
constexpr int64_t kImageSide = 28;
constexpr int kClasses = 10;

std::string hex_bytes(const uint8_t* bytes, size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ' ';
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

// Names the IDX element types so that "float32 is unsupported" reads better than a bare code.
const char* type_name(uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "not an IDX type";
  }
}

// The whole file: a gzipped Fashion-MNIST split is 26 MB at most, and reading it first lets the
// file and an in-memory buffer (parse_idx, the fuzz target) share one parser.
std::vector<uint8_t> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  HEED_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0) bytes.reserve(static_cast<size_t>(info.st_size));
  uint8_t buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      HEED_CHECK(n == 0, path, ": read failed: ", std::strerror(error));
      return bytes;
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
}

// The bytes of an IDX file in order, gunzipped on the way when they start with gzip's magic.
class Source {
 public:
  Source(std::span<const uint8_t> bytes, const std::string& name)
      : in_(bytes),
        name_(name),
        gzipped_(bytes.size() >= 2 && bytes[0] == kGzipMagic[0] && bytes[1] == kGzipMagic[1]) {
    // 16 + MAX_WBITS: inflate expects a gzip header and checks the trailer's CRC and length.
    if (gzipped_ && inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
      throw Error(detail::concat(name_, ": zlib out of memory"));
    }
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  ~Source() {
    if (gzipped_) inflateEnd(&stream_);
  }

  // Fills `out` with up to `count` bytes (at most kChunkBytes); fewer only at the end of the data.
  size_t read(uint8_t* out, size_t count) {
    count = std::min(count, kChunkBytes);
    if (!gzipped_) {
      const size_t n = std::min(count, in_.size() - pos_);
      if (n > 0) std::memcpy(out, in_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    size_t got = 0;
    while (got < count && next_member()) got += inflate_some(out + got, count - got);
    return got;
  }

 private:
  // False at the end of the data; else ready to inflate, past the end of a member only when
  // another gzip member follows it (as `cat a.gz b.gz` makes).
  bool next_member() {
    if (!member_done_) return true;
    const std::span<const uint8_t> rest = in_.subspan(pos_);
    if (rest.empty()) return false;
    HEED_CHECK(rest.size() >= 2 && rest[0] == kGzipMagic[0] && rest[1] == kGzipMagic[1], name_,
               ": ", rest.size(), " bytes after the end of the gzip stream are not gzip data");
    inflateReset(&stream_);
    member_done_ = false;
    return true;
  }

  size_t inflate_some(uint8_t* out, size_t count) {
    const size_t avail_in = std::min<size_t>(in_.size() - pos_, UINT_MAX);
    stream_.next_in = in_.data() + pos_;
    stream_.avail_in = static_cast<unsigned>(avail_in);
    stream_.next_out = out;
    stream_.avail_out = static_cast<unsigned>(count);
    const int result = inflate(&stream_, Z_NO_FLUSH);
    pos_ += avail_in - stream_.avail_in;
    if (result == Z_STREAM_END) member_done_ = true;
    // Z_BUF_ERROR: no progress was possible, which with all input consumed means a cut stream.
    const bool cut = result == Z_BUF_ERROR && pos_ == in_.size();
    if (result != Z_OK && result != Z_STREAM_END) {
      const char* why = cut                      ? "unexpected end of file"
                        : stream_.msg != nullptr ? stream_.msg
                                                 : zError(result);
      throw Error(detail::concat(name_, ": gzip stream is corrupt or truncated: ", why));
    }
    return count - stream_.avail_out;
  }

  std::span<const uint8_t> in_;
  const std::string& name_;
  const bool gzipped_;
  size_t pos_ = 0;
  z_stream stream_{};
  bool member_done_ = false;
};

// Reads until `count` bytes or the end of the data and returns how many were read.
size_t read_up_to(Source& source, uint8_t* out, size_t count) {
  size_t got = 0;
  while (got < count) {
    const size_t read = source.read(out + got, count - got);
    if (read == 0) break;
    got += read;
  }
  return got;
}

std::vector<int64_t> read_dims(Source& source, const std::string& path, int ndims) {
  std::vector<uint8_t> raw(4 * static_cast<size_t>(ndims));
  const size_t got = read_up_to(source, raw.data(), raw.size());
  HEED_CHECK(got == raw.size(), path, ": truncated header: ", ndims, " dimensions need ",
             raw.size(), " bytes, found ", got);
  std::vector<int64_t> dims(ndims);
  for (size_t i = 0; i < dims.size(); ++i) {
    const uint8_t* b = &raw[4 * i];
    dims[i] = int64_t{b[0]} << 24 | int64_t{b[1]} << 16 | int64_t{b[2]} << 8 | int64_t{b[3]};
  }
  return dims;
}

// Each dim is below 2^32 and the running product is kept below 2^31, so it cannot overflow.
void check_dims(const std::vector<int64_t>& dims, const std::string& path) {
  uint64_t elements = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    HEED_CHECK(dims[i] > 0, path, ": dimension ", i, " is 0 in dims ", dims_string(dims));
    elements *= static_cast<uint64_t>(dims[i]);
    HEED_CHECK(elements < kMaxElements, path, ": dims ", dims_string(dims),
               " hold 2^31 or more elements; the header is corrupt");
  }
}

std::vector<int64_t> read_header(Source& source, const std::string& path) {
  uint8_t magic[4];
  const size_t got = read_up_to(source, magic, sizeof(magic));
  HEED_CHECK(got == sizeof(magic), path, ": truncated header: expected a 4-byte magic, found ", got,
             " bytes");
  HEED_CHECK(magic[0] == 0 && magic[1] == 0, path, ": bad magic: expected 00 00 08 <ndims>, found ",
             hex_bytes(magic, 4), "; not an IDX file");
  HEED_CHECK(magic[2] == kUnsignedByteType, path, ": unsupported element type 0x",
             hex_bytes(&magic[2], 1), " (", type_name(magic[2]),
             "); only 0x08 (unsigned byte) is supported");
  HEED_CHECK(magic[3] > 0, path, ": header declares 0 dimensions");
  std::vector<int64_t> dims = read_dims(source, path, magic[3]);
  check_dims(dims, path);
  return dims;
}

// Grows the buffer with the bytes actually present, at most doubling it (from 64 KiB) each time:
// the header's promise is not trusted until the data is there, so a 20-byte file whose header
// claims 2 GiB costs a 64 KiB buffer, not 16 MiB.
std::vector<uint8_t> read_data(Source& source, const std::string& path, size_t count) {
  std::vector<uint8_t> data;
  size_t got = 0;
  while (got < count) {
    const size_t want = std::min(count, got + std::clamp(got, kFirstChunkBytes, kChunkBytes));
    if (data.capacity() < want) data.reserve(std::min(count, std::max(want, 2 * data.capacity())));
    data.resize(want);
    const size_t read = read_up_to(source, data.data() + got, want - got);
    got += read;
    if (got < want) break;
  }
  HEED_CHECK(got == count, path, ": truncated data: header promises ", count, " bytes, found ",
             got);
  return data;
}

uint64_t count_remaining(Source& source) {
  uint8_t scratch[4096];
  uint64_t total = 0;
  for (;;) {
    const size_t read = read_up_to(source, scratch, sizeof(scratch));
    total += read;
    if (read < sizeof(scratch)) return total;
  }
}

size_t element_count(const std::vector<int64_t>& dims) {
  size_t count = 1;
  for (int64_t dim : dims) count *= static_cast<size_t>(dim);
  return count;
}

std::string file_prefix(const std::string& dir, const std::string& split) {
  if (split == "train") return "train";
  if (split == "test") return "t10k";
  throw Error(detail::concat("read_fashion_mnist(", dir, "): unknown split \"", split,
                             "\"; valid splits are \"train\" and \"test\""));
}

// People often gunzip the downloads, so the plain name is the fallback; errors name the .gz file.
std::string pick_file(const std::string& dir, const std::string& name) {
  const std::filesystem::path gzipped = std::filesystem::path(dir) / (name + ".gz");
  const std::filesystem::path plain = std::filesystem::path(dir) / name;
  std::error_code ignored;
  if (!std::filesystem::exists(gzipped, ignored) && std::filesystem::exists(plain, ignored)) {
    return plain.string();
  }
  return gzipped.string();
}

void check_images(const IdxArray& images, const std::string& path) {
  const std::vector<int64_t>& dims = images.dims;
  HEED_CHECK(dims.size() == 3 && dims[1] == kImageSide && dims[2] == kImageSide, path,
             ": expected Fashion-MNIST images of dims [N, 28, 28], found ", dims_string(dims));
}

void check_labels(const IdxArray& labels, const std::string& path, int64_t image_count,
                  const std::string& images_path) {
  HEED_CHECK(labels.dims.size() == 1, path, ": expected labels of dims [N], found ",
             dims_string(labels.dims));
  HEED_CHECK(labels.dims[0] == image_count, path, ": ", labels.dims[0], " labels but ", images_path,
             " holds ", image_count, " images");
  const auto bad = std::find_if(labels.data.begin(), labels.data.end(),
                                [](uint8_t label) { return label >= kClasses; });
  HEED_CHECK(bad == labels.data.end(), path, ": label ", static_cast<int>(*bad), " at index ",
             bad - labels.data.begin(), " is not a class id 0..9");
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  return parse_idx(read_file(path), path);
}

IdxArray parse_idx(std::span<const uint8_t> bytes, const std::string& name) {
  Source source(bytes, name);
  IdxArray array;
  array.dims = read_header(source, name);
  array.data = read_data(source, name, element_count(array.dims));
  const uint64_t trailing = count_remaining(source);
  HEED_CHECK(trailing == 0, name, ": ", trailing, " trailing bytes after the ", array.data.size(),
             " data bytes");
  return array;
}

FashionMnistSplit read_fashion_mnist(const std::string& dir, const std::string& split) {
  const std::string prefix = file_prefix(dir, split);
  const std::string images_path = pick_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = pick_file(dir, prefix + "-labels-idx1-ubyte");
  FashionMnistSplit out;
  out.images = read_idx(images_path);
  check_images(out.images, images_path);
  out.labels = read_idx(labels_path);
  check_labels(out.labels, labels_path, out.images.dims[0], images_path);
  return out;
}

}  // namespace heed::data
