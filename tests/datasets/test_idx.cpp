// Tests of datasets/idx.h: the real Fashion-MNIST files, round trips of small IDX files written
// here (plain and gzipped), and one test per way a file can be broken.

#include <doctest/doctest.h>

#include <zlib.h>
#include "temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "datasets/idx.h"
#include "framework/error.h"
#include "testing.h"

namespace {

namespace fs = std::filesystem;
using heed::data::FashionMnistSplit;
using heed::data::IdxArray;
using heed::data::parse_idx;
using heed::data::read_fashion_mnist;
using heed::data::read_idx;
using heed::testing::error_of;
using Bytes = std::vector<uint8_t>;

// A fresh directory under the system temp dir, removed with its contents when the test ends.
using heed::testing::TempDir;

Bytes idx_header(uint8_t type, const std::vector<uint32_t>& dims) {
  Bytes out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t dim : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(dim >> shift));
  }
  return out;
}

Bytes idx_file(const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes out = idx_header(0x08, dims);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes counting_bytes(size_t count) {
  Bytes out(count);
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<uint8_t>(i * 7 + 3);
  return out;
}

// Incompressible, so that deflate output is as long as the input and easy to cut in half.
Bytes random_bytes(size_t count) {
  std::mt19937 engine(42);
  Bytes out(count);
  for (uint8_t& b : out) b = static_cast<uint8_t>(engine());
  return out;
}

void write_plain(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gzipped(const std::string& path, const Bytes& bytes) {
  gzFile out = gzopen(path.c_str(), "wb");
  REQUIRE(out != nullptr);
  const int written = bytes.empty() ? 0 : gzwrite(out, bytes.data(), bytes.size());
  const int closed = gzclose(out);
  REQUIRE(written == static_cast<int>(bytes.size()));
  REQUIRE(closed == Z_OK);
}

Bytes read_plain(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Writes `bytes` as "name" or, gzipped, as "name.gz"; returns the path written.
std::string write_idx(const TempDir& dir, const std::string& name, const Bytes& bytes,
                      bool gzipped) {
  const std::string path = dir.file(gzipped ? name + ".gz" : name);
  gzipped ? write_gzipped(path, bytes) : write_plain(path, bytes);
  return path;
}

// The contract for every failure: one line that starts with the file and names the problem.
void check_idx_error(const std::string& path, const std::string& problem) {
  const std::string message = error_of([&] { read_idx(path); });
  CHECK_MESSAGE(message.starts_with(path + ": "), message);
  CHECK_MESSAGE(message.find(problem) != std::string::npos, message, "\nlacks: ", problem);
  CHECK_MESSAGE(message.find('\n') == std::string::npos, message);
}

// Doctest SUBCASEs cannot sit inside a loop, so each subcase checks both encodings itself.
void check_idx_error_both_ways(const TempDir& dir, const Bytes& bytes, const std::string& problem) {
  for (bool gzipped : {false, true}) {
    CAPTURE(gzipped);
    check_idx_error(write_idx(dir, "broken.idx", bytes, gzipped), problem);
  }
}

std::string dataset_dir() {
  const char* dir = std::getenv("HEED_FASHION_MNIST_DIR");
  return dir != nullptr ? dir : "/usr/share/datasets/fashion-mnist";
}

int64_t pixel_sum(const IdxArray& images, size_t index) {
  const auto first = images.data.begin() + static_cast<std::ptrdiff_t>(index * 28 * 28);
  return std::accumulate(first, first + 28 * 28, int64_t{0});
}

}  // namespace

// The expected values were computed independently with python3's gzip module: the first label of
// both splits is 9 (ankle boot), every class appears N / 10 times, and the first image's pixels
// sum to 76247 (train) and 33456 (test).
TEST_CASE("read_fashion_mnist reads the real train split") {
  const FashionMnistSplit train = read_fashion_mnist(dataset_dir(), "train");
  CHECK(train.images.dims == std::vector<int64_t>{60000, 28, 28});
  CHECK(train.images.data.size() == size_t{60000} * 28 * 28);
  CHECK(train.labels.dims == std::vector<int64_t>{60000});
  REQUIRE(train.labels.data.size() == 60000);
  CHECK(train.labels.data[0] == 9);
  CHECK(pixel_sum(train.images, 0) == 76247);
  for (int label = 0; label < 10; ++label) {
    CHECK(std::count(train.labels.data.begin(), train.labels.data.end(), label) == 6000);
  }
}

TEST_CASE("read_fashion_mnist reads the real test split from the t10k files") {
  const FashionMnistSplit test = read_fashion_mnist(dataset_dir(), "test");
  CHECK(test.images.dims == std::vector<int64_t>{10000, 28, 28});
  CHECK(test.images.data.size() == size_t{10000} * 28 * 28);
  CHECK(test.labels.dims == std::vector<int64_t>{10000});
  REQUIRE(test.labels.data.size() == 10000);
  CHECK(test.labels.data[0] == 9);
  CHECK(pixel_sum(test.images, 0) == 33456);
}

TEST_CASE("read_idx round trips small arrays, plain and gzipped") {
  const TempDir dir;
  for (bool gzipped : {false, true}) {
    CAPTURE(gzipped);
    const Bytes cube = counting_bytes(3 * 2 * 4);
    const IdxArray read_cube =
        read_idx(write_idx(dir, "cube.idx", idx_file({3, 2, 4}, cube), gzipped));
    CHECK(read_cube.dims == std::vector<int64_t>{3, 2, 4});
    CHECK(read_cube.data == cube);

    const Bytes line = {0, 1, 255, 128, 9};
    const IdxArray read_line = read_idx(write_idx(dir, "line.idx", idx_file({5}, line), gzipped));
    CHECK(read_line.dims == std::vector<int64_t>{5});
    CHECK(read_line.data == line);
  }
}

TEST_CASE("read_idx reads arrays larger than one internal read chunk") {
  const TempDir dir;
  const Bytes data = counting_bytes((size_t{1} << 24) + 12345);
  const IdxArray array = read_idx(
      write_idx(dir, "big.idx", idx_file({static_cast<uint32_t>(data.size())}, data), true));
  CHECK(array.dims == std::vector<int64_t>{static_cast<int64_t>(data.size())});
  CHECK(array.data == data);
}

TEST_CASE("read_idx rejects a missing file or a directory") {
  const TempDir dir;
  check_idx_error(dir.file("absent.idx"), "cannot open: No such file or directory");
  check_idx_error(dir.path(), "read failed: Is a directory");
}

TEST_CASE("read_idx rejects broken headers, plain and gzipped") {
  const TempDir dir;
  const auto check = [&](const Bytes& bytes, const std::string& problem) {
    check_idx_error_both_ways(dir, bytes, problem);
  };
  SUBCASE("empty file") {
    check({}, "truncated header: expected a 4-byte magic, found 0 bytes");
  }
  SUBCASE("short magic") {
    check({0, 0}, "truncated header: expected a 4-byte magic, found 2");
  }
  SUBCASE("bad magic") {
    check({0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4},
          "bad magic: expected 00 00 08 <ndims>, found 50 4b 03 04");
  }
  SUBCASE("float32 elements") {
    check(idx_header(0x0D, {2}), "unsupported element type 0x0d (float32)");
  }
  SUBCASE("unknown element type") {
    check(idx_header(0x42, {2}), "unsupported element type 0x42 (not an IDX type)");
  }
  SUBCASE("zero dimensions") {
    check(idx_header(0x08, {}), "header declares 0 dimensions");
  }
  SUBCASE("dims cut short") {
    Bytes bytes = idx_header(0x08, {5, 5, 5});
    bytes.resize(4 + 4 + 2);
    check(bytes, "truncated header: 3 dimensions need 12 bytes, found 6");
  }
  SUBCASE("a zero dim") {
    check(idx_header(0x08, {2, 0, 3}), "dimension 1 is 0 in dims [2, 0, 3]");
  }
  SUBCASE("exactly 2^31 elements") {
    check(idx_header(0x08, {65536, 32768}), "dims [65536, 32768] hold 2^31 or more elements");
  }
  SUBCASE("dims whose product overflows 64 bits") {
    check(idx_header(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}), "hold 2^31 or more elements");
  }
}

TEST_CASE("read_idx rejects data of the wrong length, plain and gzipped") {
  const TempDir dir;
  SUBCASE("truncated data") {
    check_idx_error_both_ways(dir, idx_file({10}, counting_bytes(7)),
                              "truncated data: header promises 10 bytes, found 7");
  }
  SUBCASE("no data at all") {
    check_idx_error_both_ways(dir, idx_header(0x08, {2, 3}),
                              "truncated data: header promises 6 bytes, found 0");
  }
  SUBCASE("trailing bytes") {
    check_idx_error_both_ways(dir, idx_file({10}, counting_bytes(12)),
                              "2 trailing bytes after the 10 data bytes");
  }
}

TEST_CASE("read_idx reports corrupt gzip streams with zlib's reason") {
  const TempDir dir;
  const std::string path = write_idx(dir, "data.idx", idx_file({4096}, random_bytes(4096)), true);
  Bytes gz = read_plain(path);
  REQUIRE(gz.size() > 4096);

  SUBCASE("checksum mismatch") {
    gz[gz.size() - 8] ^= 0xFF;  // The trailer is CRC-32 then length, 4 bytes each.
    write_plain(path, gz);
    check_idx_error(path, "gzip stream is corrupt or truncated: incorrect data check");
  }
  SUBCASE("stream cut in half") {
    gz.resize(gz.size() / 2);
    write_plain(path, gz);
    check_idx_error(path, "gzip stream is corrupt or truncated: unexpected end of file");
  }
  SUBCASE("unknown compression method") {
    gz[2] = 7;  // Byte 2 of a gzip header is the method; 8 (deflate) is the only one defined.
    write_plain(path, gz);
    check_idx_error(path, "gzip stream is corrupt or truncated: unknown compression method");
  }
}

TEST_CASE("parse_idx reads an IDX file from memory, plain and gzipped") {
  const TempDir dir;
  const Bytes cube = counting_bytes(3 * 2 * 4);
  const Bytes plain = idx_file({3, 2, 4}, cube);
  const Bytes gzipped = read_plain(write_idx(dir, "cube.idx", plain, true));
  for (const Bytes* bytes : {&plain, &gzipped}) {
    const IdxArray array = parse_idx(*bytes, "memory");
    CHECK(array.dims == std::vector<int64_t>{3, 2, 4});
    CHECK(array.data == cube);
  }
  const std::string message = error_of([&] { parse_idx(Bytes{0, 0, 8}, "fuzz input"); });
  CHECK_MESSAGE(message.starts_with("fuzz input: truncated header"), message);
}

// gzip(1) reads `cat a.gz b.gz` as the concatenation of a and b, and so does the reader; bytes
// after the last member that are not gzip data are an error rather than silently ignored.
TEST_CASE("read_idx reads consecutive gzip members as one file and rejects trailing garbage") {
  const TempDir dir;
  const Bytes data = counting_bytes(100);
  const Bytes file = idx_file({100}, data);
  const Bytes head(file.begin(), file.begin() + 30), tail(file.begin() + 30, file.end());
  Bytes members = read_plain(write_idx(dir, "head.idx", head, true));
  const Bytes second = read_plain(write_idx(dir, "tail.idx", tail, true));
  members.insert(members.end(), second.begin(), second.end());
  write_plain(dir.file("both.idx.gz"), members);
  CHECK(read_idx(dir.file("both.idx.gz")).data == data);

  Bytes garbage = read_plain(write_idx(dir, "whole.idx", file, true));
  garbage.insert(garbage.end(), {'x', 'y', 'z'});
  write_plain(dir.file("garbage.idx.gz"), garbage);
  check_idx_error(dir.file("garbage.idx.gz"),
                  "3 bytes after the end of the gzip stream are not gzip data");
}

namespace {

// Writes a fake Fashion-MNIST split with the given images and labels files, gzipped like the
// real download.
void write_split(const TempDir& dir, const std::string& prefix, const Bytes& images,
                 const Bytes& labels) {
  write_gzipped(dir.file(prefix + "-images-idx3-ubyte.gz"), images);
  write_gzipped(dir.file(prefix + "-labels-idx1-ubyte.gz"), labels);
}

std::string fashion_error(const TempDir& dir, const std::string& split) {
  return error_of([&] { read_fashion_mnist(dir.path(), split); });
}

}  // namespace

TEST_CASE("read_fashion_mnist reads a small fake split, gzipped or gunzipped") {
  const TempDir dir;
  const Bytes pixels = counting_bytes(2 * 28 * 28);
  const Bytes labels = {3, 9};
  SUBCASE("gzipped") {
    write_split(dir, "t10k", idx_file({2, 28, 28}, pixels), idx_file({2}, labels));
  }
  SUBCASE("gunzipped") {
    write_plain(dir.file("t10k-images-idx3-ubyte"), idx_file({2, 28, 28}, pixels));
    write_plain(dir.file("t10k-labels-idx1-ubyte"), idx_file({2}, labels));
  }
  const FashionMnistSplit split = read_fashion_mnist(dir.path(), "test");
  CHECK(split.images.dims == std::vector<int64_t>{2, 28, 28});
  CHECK(split.images.data == pixels);
  CHECK(split.labels.dims == std::vector<int64_t>{2});
  CHECK(split.labels.data == labels);
}

TEST_CASE("read_fashion_mnist rejects bad splits and inconsistent files") {
  const TempDir dir;
  const std::string images_path = dir.file("train-images-idx3-ubyte.gz");
  const std::string labels_path = dir.file("train-labels-idx1-ubyte.gz");
  const Bytes two_images = idx_file({2, 28, 28}, counting_bytes(2 * 28 * 28));
  const Bytes two_labels = idx_file({2}, {1, 2});

  SUBCASE("unknown split") {
    const std::string message = fashion_error(dir, "validation");
    CHECK_MESSAGE(message.find("unknown split \"validation\"") != std::string::npos, message);
    CHECK_MESSAGE(message.find("valid splits are \"train\" and \"test\"") != std::string::npos,
                  message);
  }
  SUBCASE("missing files") {
    const std::string message = fashion_error(dir, "train");
    CHECK_MESSAGE(message.starts_with(images_path + ": cannot open: No such file"), message);
  }
  SUBCASE("images not 28 x 28") {
    write_split(dir, "train", idx_file({2, 28, 27}, counting_bytes(2 * 28 * 27)), two_labels);
    const std::string message = fashion_error(dir, "train");
    CHECK_MESSAGE(message.starts_with(images_path + ": "), message);
    CHECK_MESSAGE(message.find("expected Fashion-MNIST images of dims [N, 28, 28], found "
                               "[2, 28, 27]") != std::string::npos,
                  message);
  }
  SUBCASE("images not 3-D") {
    write_split(dir, "train", idx_file({2, 784}, counting_bytes(2 * 784)), two_labels);
    const std::string message = fashion_error(dir, "train");
    CHECK_MESSAGE(message.starts_with(images_path + ": "), message);
    CHECK_MESSAGE(message.find("found [2, 784]") != std::string::npos, message);
  }
  SUBCASE("labels not 1-D") {
    write_split(dir, "train", two_images, idx_file({2, 1}, {1, 2}));
    const std::string message = fashion_error(dir, "train");
    CHECK_MESSAGE(message.starts_with(labels_path + ": "), message);
    CHECK_MESSAGE(message.find("expected labels of dims [N], found [2, 1]") != std::string::npos,
                  message);
  }
  SUBCASE("label count differs from image count") {
    write_split(dir, "train", two_images, idx_file({3}, {1, 2, 3}));
    const std::string message = fashion_error(dir, "train");
    CHECK_MESSAGE(
        message.starts_with(labels_path + ": 3 labels but " + images_path + " holds 2 images"),
        message);
  }
  SUBCASE("label out of range") {
    write_split(dir, "train", two_images, idx_file({2}, {4, 10}));
    const std::string message = fashion_error(dir, "train");
    CHECK_MESSAGE(message.starts_with(labels_path + ": "), message);
    CHECK_MESSAGE(message.find("label 10 at index 1 is not a class id 0..9") != std::string::npos,
                  message);
  }
}
