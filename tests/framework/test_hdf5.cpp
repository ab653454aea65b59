#include "framework/hdf5.h"

#include <doctest/doctest.h>

#include <hdf5.h>
#include "temp_dir.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/files.h"
#include "framework/hdf5_header.h"
#include "testing.h"

namespace fs = std::filesystem;
using heed::h5::File;

namespace {

using heed::testing::error_of;
// A fresh directory under the system temp dir, removed with everything in it.
using heed::testing::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::string kDotted = "model/encoder.layers.0.self_attn.in_proj_weight";

void write_sample(const std::string& path) {
  File out = File::create(path);
  const std::vector<float> weight = {1.5f, -2.0f, 0.0f, 3.25f, 1e-30f, -1e30f};
  out.write_f32(kDotted, {2, 3}, weight.data());
  const float scale = 0.125f;
  out.write_f32("model/scale", {}, &scale);
  const std::vector<int64_t> ids = {std::numeric_limits<int64_t>::min(), -1, 0,
                                    std::numeric_limits<int64_t>::max()};
  out.write_i64("data/ids", {4}, ids.data());
  const int64_t step = 1234;
  out.write_i64("optim/step", {}, &step);
  const std::vector<uint64_t> rng = {0, 1, std::numeric_limits<uint64_t>::max(), 42};
  out.write_u64("rng/state", {2, 2}, rng.data());
  out.write_f32("model/empty", {0, 3}, nullptr);
  out.write_string("config", "{\"d_model\": 512, \"name\": \"h\u00e9llo \u2713\"}\nline two");
  out.set_attr_i64("/", "format_version", 1);
  out.set_attr_string("/", "created_by", "heed");
  out.set_attr_i64("model", "step", 7);
  out.set_attr_i64("model", "step", 8);  // replaced, not refused
  out.set_attr_string(kDotted, "note", "dots stay in the name");
  out.close();
}

}  // namespace

TEST_CASE("hdf5: every type round-trips, including scalars and dotted names") {
  TempDir dir;
  const std::string path = dir.file("sample.h5");
  write_sample(path);

  const File in = File::open(path);
  CHECK(in.shape(kDotted) == std::vector<int64_t>{2, 3});
  CHECK(in.read_f32(kDotted) == std::vector<float>{1.5f, -2.0f, 0.0f, 3.25f, 1e-30f, -1e30f});
  CHECK(in.shape("model/scale").empty());
  CHECK(in.read_f32("model/scale") == std::vector<float>{0.125f});
  CHECK(in.read_i64("data/ids") == std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -1, 0,
                                                        std::numeric_limits<int64_t>::max()});
  CHECK(in.read_i64("optim/step") == std::vector<int64_t>{1234});
  CHECK(in.shape("rng/state") == std::vector<int64_t>{2, 2});
  CHECK(in.read_u64("rng/state") ==
        std::vector<uint64_t>{0, 1, std::numeric_limits<uint64_t>::max(), 42});
  CHECK(in.shape("model/empty") == std::vector<int64_t>{0, 3});
  CHECK(in.read_f32("model/empty").empty());
  CHECK(in.read_string("config") ==
        "{\"d_model\": 512, \"name\": \"h\u00e9llo \u2713\"}\nline two");
  CHECK(in.get_attr_i64("/", "format_version") == 1);
  CHECK(in.get_attr_string("/", "created_by") == "heed");
  CHECK(in.get_attr_i64("model", "step") == 8);
  CHECK(in.get_attr_string(kDotted, "note") == "dots stay in the name");

  CHECK(in.dtype_name(kDotted) == "float32");
  CHECK(in.dtype_name("optim/step") == "int64");
  CHECK(in.dtype_name("rng/state") == "uint64");
  CHECK(in.dtype_name("config") == "string");
}

TEST_CASE("hdf5: has, is_group, has_attr and leading slashes") {
  TempDir dir;
  const std::string path = dir.file("sample.h5");
  write_sample(path);
  const File in = File::open(path);

  CHECK(in.has(kDotted));
  CHECK(in.has("/" + kDotted));
  CHECK(in.has("model"));
  CHECK(in.has("/"));
  CHECK_FALSE(in.has("model/encoder"));  // the dot is not a separator
  CHECK_FALSE(in.has("missing/parent/x"));
  CHECK_FALSE(in.has("model/scale/below_a_dataset"));
  CHECK(in.is_group("model"));
  CHECK(in.is_group("/"));
  CHECK_FALSE(in.is_group("model/scale"));
  CHECK_FALSE(in.is_group("nope"));
  CHECK(in.has_attr("/", "format_version"));
  CHECK_FALSE(in.has_attr("/", "nope"));
}

TEST_CASE("hdf5: list gives the direct children, sorted") {
  TempDir dir;
  const std::string path = dir.file("list.h5");
  {
    File out = File::create(path);
    const float x = 1.0f;
    for (const char* name : {"layers.2.weight", "layers.10.weight", "b", "a.bias", "sub/deep"}) {
      out.write_f32(std::string("model/") + name, {}, &x);
    }
    out.write_f32("top", {}, &x);
  }  // the destructor closes too

  const File in = File::open(path);
  CHECK(in.list("/") == std::vector<std::string>{"model", "top"});
  CHECK(in.list("model") ==
        std::vector<std::string>{"a.bias", "b", "layers.10.weight", "layers.2.weight", "sub"});
  CHECK(in.list("model/sub") == std::vector<std::string>{"deep"});
  const std::string not_group = error_of([&] { in.list("top"); });
  CHECK(contains(not_group, "top is a dataset, not a group"));
  const std::string missing = error_of([&] { in.list("nope"); });
  CHECK(contains(missing, path + ": group nope missing"));
}

TEST_CASE("hdf5: opening something that is not a readable HDF5 file names the file") {
  TempDir dir;

  const std::string missing = dir.file("missing.h5");
  CHECK(error_of([&] { File::open(missing); }) == "HDF5 file " + missing + ": no such file");

  const std::string text = dir.file("notes.h5");
  std::ofstream(text) << "this is plain text, not HDF5\n";
  CHECK(error_of([&] { File::open(text); }) == "HDF5 file " + text + ": not an HDF5 file");

  const std::string empty = dir.file("empty.h5");
  std::ofstream{empty};
  CHECK(error_of([&] { File::open(empty); }) == "HDF5 file " + empty + ": empty file (0 bytes)");

  CHECK(contains(error_of([&] { File::open(dir.file("")); }), "is a directory"));

  const std::string truncated = dir.file("truncated.h5");
  {
    File out = File::create(truncated);
    const std::vector<float> big(4096, 1.0f);
    out.write_f32("model/weight", {64, 64}, big.data());
    out.write_string("config", "{}");
  }
  fs::resize_file(truncated, fs::file_size(truncated) / 2);
  const std::string message = error_of([&] { File::open(truncated, "checkpoint"); });
  CHECK(contains(message, "checkpoint " + truncated + ": "));
  CHECK(contains(message, "truncated"));

  const std::string no_dir = dir.file("no/such/dir/x.h5");
  const std::string create_error = error_of([&] { File::create(no_dir); });
  CHECK(contains(create_error, "HDF5 file " + no_dir + ": cannot create file"));
}

TEST_CASE("hdf5: read errors name the file and the dataset") {
  TempDir dir;
  const std::string path = dir.file("sample.h5");
  write_sample(path);
  const File in = File::open(path, "checkpoint");
  const std::string where = "checkpoint " + path + ": ";

  CHECK(error_of([&] { in.read_f32("model/weight"); }) == where + "dataset model/weight missing");
  CHECK(error_of([&] { in.shape("/model/weight"); }) == where + "dataset model/weight missing");
  CHECK(error_of([&] { in.read_f32("optim/step"); }) ==
        where + "dataset optim/step has type int64, expected float32");
  CHECK(error_of([&] { in.read_i64(kDotted); }) ==
        where + "dataset " + kDotted + " has type float32, expected int64");
  CHECK(error_of([&] { in.read_u64("data/ids"); }) ==
        where + "dataset data/ids has type int64, expected uint64");
  CHECK(error_of([&] { in.read_string("model/scale"); }) ==
        where + "dataset model/scale has type float32, expected string");
  CHECK(error_of([&] { in.read_f32("config"); }) ==
        where + "dataset config has type string, expected float32");
  CHECK(error_of([&] { in.read_f32("model"); }) == where + "model is a group, not a dataset");
  CHECK(error_of([&] { in.get_attr_i64("/", "epoch"); }) == where + "attribute epoch of / missing");
  CHECK(error_of([&] { in.get_attr_i64("/", "created_by"); }) ==
        where + "attribute created_by of / has type string, expected int64");
  CHECK(error_of([&] { in.get_attr_string("nope", "x"); }) == where + "object nope missing");
}

TEST_CASE("hdf5: write errors") {
  TempDir dir;
  const std::string path = dir.file("w.h5");
  File out = File::create(path);
  const float x = 1.0f;
  out.write_f32("a/b", {}, &x);

  const std::string where = "HDF5 file " + path + ": ";
  CHECK(error_of([&] { out.write_f32("a/b", {}, &x); }) ==
        where + "cannot write dataset a/b: it exists already");
  CHECK(error_of([&] {
          out.write_f32("c", {2, -1}, &x);
        }) == where + "cannot write c: negative dimension in shape [2, -1]");
  CHECK(error_of([&] { out.write_f32("d", {2}, nullptr); }) == where + "cannot write d: no data");
  CHECK(error_of([&] { out.write_f32("/", {}, &x); }) ==
        where + "cannot write a dataset with an empty name");
  CHECK(error_of([&] { out.write_string("s", std::string("a\0b", 3)); }) ==
        where + "cannot write string s: it contains a NUL byte");
  CHECK(error_of([&] { out.set_attr_i64("nope", "x", 1); }) == where + "object nope missing");
  // A dataset cannot be a parent group; HDF5's own reason is appended.
  CHECK(contains(error_of([&] { out.write_f32("a/b/c", {}, &x); }),
                 where + "cannot create dataset a/b/c"));
  out.close();
  out.close();  // a no-op
  CHECK(error_of([&] { out.has("a"); }) == where + "file is closed");

  File in = File::open(path);
  CHECK(error_of([&] { in.write_f32("e", {}, &x); }) ==
        where + "cannot write e: file is open read-only");
}

TEST_CASE("hdf5: File moves, and the moved-to file stays usable") {
  TempDir dir;
  const std::string path = dir.file("m.h5");
  File first = File::create(path);
  File second = std::move(first);
  CHECK_FALSE(first.is_open());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  const int64_t one = 1;
  second.write_i64("one", {1}, &one);
  second.flush();
  File third = File::create(dir.file("other.h5"));
  third = std::move(second);
  third.close();
  CHECK(File::open(path).read_i64("one") == std::vector<int64_t>{1});
}

// h5py writes np.bytes_ as fixed-length strings and float64 by default; files from Python must
// read back or fail with a type error, never convert.
TEST_CASE("hdf5: fixed-length strings and foreign types written by other tools") {
  TempDir dir;
  const std::string path = dir.file("foreign.h5");
  {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hid_t scalar = H5Screate(H5S_SCALAR);
    for (H5T_str_t pad : {H5T_STR_NULLPAD, H5T_STR_SPACEPAD, H5T_STR_NULLTERM}) {
      const hid_t type = H5Tcopy(H5T_C_S1);
      H5Tset_size(type, 8);
      H5Tset_strpad(type, pad);
      const std::string name = "fixed" + std::to_string(static_cast<int>(pad));
      const hid_t dataset =
          H5Dcreate2(file, name.c_str(), type, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      const std::string text = pad == H5T_STR_SPACEPAD ? "abc     " : std::string(8, '\0');
      const std::string padded = pad == H5T_STR_SPACEPAD ? text : "abc" + text.substr(3);
      H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, padded.data());
      H5Dclose(dataset);
      H5Tclose(type);
    }
    const double value = 2.5;
    const hid_t dataset =
        H5Dcreate2(file, "f64", H5T_IEEE_F64BE, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value);
    H5Dclose(dataset);
    H5Sclose(scalar);
    H5Fclose(file);
  }

  const File in = File::open(path);
  CHECK(in.read_string("fixed" + std::to_string(H5T_STR_NULLPAD)) == "abc");
  CHECK(in.read_string("fixed" + std::to_string(H5T_STR_SPACEPAD)) == "abc");
  CHECK(in.read_string("fixed" + std::to_string(H5T_STR_NULLTERM)) == "abc");
  CHECK(in.dtype_name("f64") == "float64");
  CHECK(contains(error_of([&] { in.read_f32("f64"); }), "f64 has type float64, expected float32"));
}

TEST_CASE("hdf5: write_atomically builds the file in memory and puts the heed header in front") {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  heed::h5::write_atomically(path, "inspection", [&](File& f) {
    const float x = 2.5f;
    f.write_f32("records/x", {}, &x);
    f.create_group("empty");
    f.create_group("empty");  // a no-op for an existing group
    CHECK(error_of([&] { f.create_group("records/x"); }) ==
          "inspection " + path + ": records/x is a dataset, not a group");
    f.set_attr_string("/", "format", "heed-inspect");
  });
  const std::string bytes = heed::files::read(path);
  const std::string payload = bytes.substr(512);
  char crc[11];
  std::snprintf(crc, sizeof crc, "0x%08x", heed::h5::crc32_of(payload));
  const std::string text = "heed-hdf5\nkind inspection\npayload_bytes " +
                           std::to_string(payload.size()) + "\ncrc32 " + crc + "\n";
  CHECK(bytes.substr(0, 512) == text + std::string(512 - text.size(), '\0'));
  CHECK(payload.substr(0, 8) == "\x89HDF\r\n\x1a\n");
  CHECK(heed::h5::make_header("inspection", payload) == bytes.substr(0, 512));

  const File in = File::open(path);
  CHECK(in.heed_kind() == "inspection");
  CHECK(in.read_f32("records/x") == std::vector<float>{2.5f});
  CHECK(in.is_group("empty"));
  CHECK(in.list("empty").empty());
  // `kind` names the file in messages; what the file is, is the caller's to check.
  CHECK(File::open(path, "checkpoint").heed_kind() == "inspection");
  // No temporary file is left.
  CHECK(std::distance(fs::directory_iterator(dir.fs_path()), fs::directory_iterator()) == 1);
}

TEST_CASE("hdf5: an error inside write_atomically writes nothing and leaves the old file") {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  const float x = 1.0f;
  heed::h5::write_atomically(path, "checkpoint", [&](File& f) { f.write_f32("x", {}, &x); });
  const std::string before = heed::files::read(path);
  const std::string message = error_of([&] {
    heed::h5::write_atomically(path, "checkpoint", [&](File& f) {
      f.write_f32("y", {}, &x);
      f.write_f32("y", {}, &x);
    });
  });
  CHECK(message == "checkpoint " + path + ": cannot write dataset y: it exists already");
  CHECK(heed::files::read(path) == before);
  CHECK(std::distance(fs::directory_iterator(dir.fs_path()), fs::directory_iterator()) == 1);
  const std::string nowhere = dir.file("no/such/dir/a.h5");
  CHECK(contains(error_of([&] {
                   heed::h5::write_atomically(nowhere, "checkpoint",
                                              [&](File& f) { f.write_f32("x", {}, &x); });
                 }),
                 "checkpoint " + nowhere + ": "));
}

TEST_CASE("hdf5: the heed header is verified before HDF5 reads the file") {
  TempDir dir;
  const std::string path = dir.file("a.h5"), bad = dir.file("bad.h5");
  const float x = 1.0f;
  heed::h5::write_atomically(path, "checkpoint", [&](File& f) { f.write_f32("x", {}, &x); });
  const std::string bytes = heed::files::read(path);
  const std::string where = "checkpoint " + bad + ": ";
  auto open_error = [&](const std::string& content) {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << content;
    return error_of([&] { File::open(bad, "checkpoint"); });
  };
  auto with = [&](size_t at, const std::string& part) {
    std::string changed = bytes;
    changed.replace(at, part.size(), part);
    return changed;
  };
  const std::string changed = "; the file is corrupt or was changed after heed wrote it";
  CHECK(open_error("heed") == where + "truncated: only 4 bytes");
  CHECK(open_error("\x89HD") == where + "truncated: only 3 bytes");
  CHECK(open_error(bytes.substr(0, 100)) ==
        where + "truncated: 100 bytes, shorter than its 512-byte heed header");
  CHECK(open_error(with(10, "KIND")) ==
        where +
            "corrupt heed header (the first 512 bytes): line 2 does not start with \"kind "
            "\"" +
            changed);
  CHECK(open_error(with(500, "x")) == where +
                                          "corrupt heed header (the first 512 bytes): it differs "
                                          "from the header its own fields give" +
                                          changed);
  CHECK(open_error(with(bytes.find("payload_bytes ") + 14, "0")) ==
        where +
            "corrupt heed header (the first 512 bytes): it differs from the header its own "
            "fields give" +
            changed);
  CHECK(open_error(with(bytes.find("crc32 0x"), "crc32 0y")) ==
        where + "corrupt heed header (the first 512 bytes): crc32 is not a hexadecimal number" +
            changed);
  CHECK(contains(open_error(with(bytes.size() - 1, std::string(1, bytes.back() ^ 1))),
                 where + "checksum mismatch"));
  CHECK(open_error("HDF5 is not here") == where + "not an HDF5 file or a heed checkpoint");
  // Without the header, a file must start with the HDF5 signature: HDF5 would otherwise look
  // for one at byte 512 and parse a heed file whose header was damaged.
  CHECK(open_error(with(0, "Heed")) == where + "not an HDF5 file or a heed checkpoint");
  // The bytes after the header, as a file of their own, are plain HDF5 and open unverified.
  std::ofstream(bad, std::ios::binary | std::ios::trunc) << bytes.substr(512);
  const File plain = File::open(bad);
  CHECK(plain.heed_kind().empty());
  CHECK(plain.read_f32("x") == std::vector<float>{1.0f});
}
