// Checkpoint files (framework/checkpoint.h): the round trip of every field, the heed header's
// checksum against flipped bytes and truncation, and the structure and range checks that files
// without the header (written by h5py) go through. Every error must name the file.

#include "framework/checkpoint.h"

#include <doctest/doctest.h>
#include <hdf5.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "framework/files.h"
#include "framework/hdf5.h"
#include "framework/hdf5_header.h"
#include "framework/random.h"
#include "temp_dir.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// A small checkpoint as a run writes one: float and int64 tensors in both groups, dotted names,
// a scalar, a generator that has drawn, mid-epoch progress.
Checkpoint sample() {
  Generator gen(7);
  Checkpoint c;
  c.model = {{"encoder.layers.0.self_attn.in_proj_weight", Tensor::randn({12, 4}, gen)},
             {"fc.weight", Tensor::randn({3, 4}, gen)},
             {"fc.bias", Tensor::randn({3}, gen)},
             {"bn.num_batches_tracked", Tensor::from_vector_i64({17}, {})}};
  c.optimizer = {{"fc.weight.exp_avg", Tensor::randn({3, 4}, gen)},
                 {"fc.weight.exp_avg_sq", Tensor::rand({3, 4}, gen)},
                 {"fc.weight.step", Tensor::from_vector_i64({5}, {})}};
  c.rng = gen.state();
  c.progress.epoch = 2;
  c.progress.step = 123;
  c.progress.epoch_key = 0xfedcba9876543210ull;
  c.progress.position = 64;
  c.progress.elapsed_ms = 4500;
  c.progress.epoch_started = true;
  c.progress.metrics_bytes = 812;
  c.recipe = R"({"train": {"epochs": 3}})";
  c.train_state = R"({"schedule": {"name": "cosine", "t": 12}})";
  return c;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
}

// XORs byte `at` of `path` with `mask`, in place: rewriting the whole file for each flip would
// take a few ms, against ~60 us for a load that the checksum stops.
void xor_byte(const std::string& path, size_t at, int mask) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  const char c = static_cast<char>(f.get());
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ mask));
  REQUIRE(f.good());
}

// A checkpoint without the heed header, as h5py writes one (say to convert weights): only the
// structure and range checks stand between it and a run. `skip` leaves one part out; `progress`
// holds the raw values written, so that out-of-range ones can be.
struct PlainFile {
  Checkpoint c = sample();
  int64_t version = 3;
  std::string skip;
  std::map<std::string, int64_t> progress;

  PlainFile() {
    const Progress& p = c.progress;
    progress = {{"epoch", p.epoch},
                {"step", p.step},
                {"epoch_key", static_cast<int64_t>(p.epoch_key)},
                {"position", p.position},
                {"elapsed_ms", p.elapsed_ms},
                {"epoch_started", p.epoch_started ? 1 : 0},
                {"metrics_bytes", p.metrics_bytes}};
  }

  void write(const std::string& path) const {
    h5::File f = h5::File::create(path, "checkpoint");
    f.set_attr_string("/", "format", "heed-checkpoint");
    f.set_attr_i64("/", "format_version", version);
    if (skip != "model") write_tensors(f, "model", c.model);
    if (skip != "optimizer") write_tensors(f, "optimizer", c.optimizer);
    if (skip != "rng/state") f.write_u64("rng/state", {4}, c.rng.data());
    for (const auto& [name, value] : progress) {
      const bool new_in_3 = name == "epoch_started" || name == "metrics_bytes";
      if ("progress/" + name != skip && (version >= 3 || !new_in_3))
        f.write_i64("progress/" + name, {}, &value);
    }
    if (skip != "recipe") f.write_string("recipe", c.recipe);
    if (skip != "train_state" && version >= 2) f.write_string("train_state", c.train_state);
    f.close();
  }
};

// The message load_checkpoint throws for `path`, which must start with "checkpoint <path>: ".
std::string load_error(const std::string& path, CheckpointPart part = CheckpointPart::all) {
  const std::string message = error_of([&] { load_checkpoint(path, part); });
  CHECK_MESSAGE(starts_with(message, "checkpoint " + path + ": "), message);
  return message;
}

// Adds a float64 dataset to an existing plain file, as h5py writes a numpy array by default.
void add_float64(const std::string& path, const std::string& name) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hsize_t dims[1] = {2};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t dataset =
      H5Dcreate2(file, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const double values[2] = {0.5, 1.5};
  H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose(dataset);
  H5Sclose(space);
  REQUIRE(H5Fclose(file) >= 0);
}

void check_same(const StateDict& a, const StateDict& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : b) {
    const auto it =
        std::find_if(a.begin(), a.end(), [&](const auto& e) { return e.first == name; });
    REQUIRE_MESSAGE(it != a.end(), name);
    CHECK(it->second.dtype() == t.dtype());
    CHECK(it->second.shape() == t.shape());
    if (t.dtype() == Dtype::Float32)
      CHECK(it->second.to_vector() == t.to_vector());
    else
      CHECK(it->second.to_vector_i64() == t.to_vector_i64());
  }
}

}  // namespace

TEST_CASE("checkpoint: a round trip keeps every field") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  const Checkpoint c = sample();
  save_checkpoint(path, c);
  const Checkpoint d = load_checkpoint(path);
  check_same(d.model, c.model);
  check_same(d.optimizer, c.optimizer);
  CHECK(d.rng == c.rng);
  CHECK(d.progress.epoch == 2);
  CHECK(d.progress.step == 123);
  CHECK(d.progress.epoch_key == 0xfedcba9876543210ull);
  CHECK(d.progress.position == 64);
  CHECK(d.progress.elapsed_ms == 4500);
  CHECK(d.progress.epoch_started);
  CHECK(d.progress.metrics_bytes == 812);
  CHECK(d.recipe == c.recipe);
  CHECK(d.train_state == c.train_state);
  // The file is the heed header, then HDF5 (its signature at the end of the user block).
  const std::string bytes = files::read(path);
  CHECK(starts_with(bytes, "heed-hdf5\nkind checkpoint\npayload_bytes " +
                               std::to_string(bytes.size() - 512) + "\ncrc32 0x"));
  CHECK(bytes.substr(512, 8) == "\x89HDF\r\n\x1a\n");
  // No temporary file is left beside it.
  CHECK(std::distance(fs::directory_iterator(tmp.fs_path()), fs::directory_iterator()) == 1);

  // Position 0 inside a started epoch (its order key drawn, nothing served) is kept apart from
  // an epoch not started; metrics_bytes -1 (unknown) is valid.
  Checkpoint e = sample();
  e.progress.position = 0;
  e.progress.metrics_bytes = -1;
  for (const bool started : {true, false}) {
    e.progress.epoch_started = started;
    save_checkpoint(path, e);
    CHECK(load_checkpoint(path).progress.epoch_started == started);
    CHECK(load_checkpoint(path).progress.metrics_bytes == -1);
  }
  // An epoch that served examples has started, whatever the flag said.
  e.progress.position = 32;
  e.progress.epoch_started = false;
  save_checkpoint(path, e);
  CHECK(load_checkpoint(path).progress.epoch_started);
}

TEST_CASE("checkpoint: weights only reads and requires /model alone") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  save_checkpoint(path, sample());
  const Checkpoint w = load_checkpoint(path, CheckpointPart::weights);
  check_same(w.model, sample().model);
  CHECK(w.optimizer.empty());
  CHECK(w.progress.step == 0);
  CHECK(w.recipe.empty());

  // A converted file with nothing but the weights.
  const std::string weights = tmp.file("weights.h5");
  {
    h5::File f = h5::File::create(weights);
    f.set_attr_string("/", "format", "heed-checkpoint");
    f.set_attr_i64("/", "format_version", 3);
    write_tensors(f, "model", sample().model);
  }
  check_same(load_checkpoint(weights, CheckpointPart::weights).model, sample().model);
  CHECK(load_error(weights) == "checkpoint " + weights + ": group optimizer is missing");
  PlainFile no_model;
  no_model.skip = "model";
  no_model.write(weights);
  CHECK(load_error(weights, CheckpointPart::weights) ==
        "checkpoint " + weights + ": group model is missing");
}

TEST_CASE("checkpoint: an optimizer without state yet is stored as an empty group") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  Checkpoint c = sample();
  c.optimizer.clear();
  save_checkpoint(path, c);
  CHECK(h5::File::open(path).is_group("optimizer"));
  CHECK(load_checkpoint(path).optimizer.empty());
}

TEST_CASE("checkpoint: a flipped byte anywhere in a file heed wrote is an error naming the file") {
  TempDir tmp;
  const std::string clean = tmp.file("clean.h5"), path = tmp.file("flipped.h5");
  save_checkpoint(clean, sample());
  const std::string bytes = files::read(clean);
  REQUIRE(bytes.size() > 4000);
  // Every byte of the header, ~400 offsets spread over the HDF5 metadata and data, and every
  // byte of one tensor's data (found by its values).
  std::set<size_t> offsets;
  for (size_t i = 0; i < 512; ++i) offsets.insert(i);
  for (size_t i = 512; i < bytes.size(); i += bytes.size() / 400) offsets.insert(i);
  offsets.insert(bytes.size() - 1);
  const std::vector<float> weight = sample().model[1].second.to_vector();
  const size_t data_at = bytes.find(
      std::string(reinterpret_cast<const char*>(weight.data()), weight.size() * sizeof(float)));
  REQUIRE(data_at != std::string::npos);
  for (size_t i = 0; i < weight.size() * sizeof(float); ++i) offsets.insert(data_at + i);
  CHECK(offsets.size() > 900);

  int checksum_errors = 0;
  write_bytes(path, bytes);
  for (const size_t at : offsets) {
    xor_byte(path, at, 1 << (at % 8));
    const std::string message = load_error(path);
    xor_byte(path, at, 1 << (at % 8));
    if (at >= 512) CHECK_MESSAGE(contains(message, "checksum mismatch"), at, ": ", message);
    checksum_errors += contains(message, "checksum mismatch");
  }
  CHECK(files::read(path) == bytes);
  CHECK(checksum_errors >= static_cast<int>(offsets.size()) - 512);
  // The message says what to think.
  std::string flipped = bytes;
  flipped[data_at] ^= 1;
  write_bytes(path, flipped);
  CHECK(contains(load_error(path),
                 ": checksum mismatch (the CRC-32 of the bytes after the header "
                 "is 0x"));
  CHECK(contains(load_error(path), "): the file is corrupt or was changed after heed wrote it"));
  CHECK(contains(load_error(path, CheckpointPart::weights), "checksum mismatch"));
}

TEST_CASE("checkpoint: a truncated or extended file is an error naming the file") {
  TempDir tmp;
  const std::string clean = tmp.file("clean.h5"), path = tmp.file("cut.h5");
  save_checkpoint(clean, sample());
  const std::string bytes = files::read(clean);
  std::set<size_t> lengths = {511, 512, 513, 520, bytes.size() - 1};
  for (size_t n = 0; n <= 20; ++n) lengths.insert(n);
  for (size_t n = 0; n < bytes.size(); n += bytes.size() / 300) lengths.insert(n);
  write_bytes(path, bytes);
  for (auto n = lengths.rbegin(); n != lengths.rend(); ++n) {  // each shorter than the last
    fs::resize_file(path, *n);
    const std::string message = load_error(path);
    if (*n == 0)
      CHECK(message == "checkpoint " + path + ": empty file (0 bytes)");
    else
      CHECK_MESSAGE(contains(message, ": truncated: "), *n, ": ", message);
  }
  write_bytes(path, bytes.substr(0, 700));
  CHECK(load_error(path) == "checkpoint " + path + ": truncated: its header says " +
                                std::to_string(bytes.size() - 512) +
                                " bytes follow the 512-byte header, found 188 (the file was cut "
                                "short, e.g. by a full disk or an interrupted copy)");
  write_bytes(path, bytes + "more");
  CHECK(contains(load_error(path), "bytes follow the 512-byte header, which says"));
}

TEST_CASE("checkpoint: a file neither heed nor HDF5, or a heed file of another kind, is refused") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  write_bytes(path, "not a checkpoint at all");
  CHECK(load_error(path) == "checkpoint " + path + ": not an HDF5 file or a heed checkpoint");
  CHECK(contains(load_error(tmp.file("missing.h5")), "no such file"));
  CHECK(contains(load_error(tmp.path()), "is a directory"));

  h5::write_atomically(path, "inspection", [](h5::File& f) {
    const float x = 1;
    f.write_f32("input", {}, &x);
  });
  CHECK(load_error(path) ==
        "checkpoint " + path + ": this is a heed inspection file, not a checkpoint");

  {
    h5::File f = h5::File::create(path);
    f.write_string("hello", "world");
  }
  CHECK(contains(load_error(path), "not a heed checkpoint (no format=\"heed-checkpoint\""));
  for (const int64_t version : {0, 4}) {
    PlainFile plain;
    plain.version = version;
    plain.write(path);
    CHECK(contains(load_error(path), "format_version " + std::to_string(version) +
                                         " is not supported (this heed reads 1 to 3"));
  }
  PlainFile newer;
  newer.version = 4;
  newer.write(path);
  CHECK(contains(load_error(path), "the file was written by a newer heed"));
}

TEST_CASE("checkpoint: a file without the heed header loads unverified, with every other check") {
  TempDir tmp;
  const std::string path = tmp.file("plain.h5");
  PlainFile().write(path);
  const Checkpoint d = load_checkpoint(path);
  check_same(d.model, sample().model);
  check_same(d.optimizer, sample().optimizer);
  CHECK(d.rng == sample().rng);
  CHECK(d.progress.step == 123);
  CHECK(d.progress.metrics_bytes == 812);
  CHECK(d.train_state == sample().train_state);
}

TEST_CASE("checkpoint: each missing group or dataset is an error naming it") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  for (const std::string group : {"model", "optimizer"}) {
    PlainFile plain;
    plain.skip = group;
    plain.write(path);
    CHECK(load_error(path) == "checkpoint " + path + ": group " + group + " is missing");
  }
  for (const std::string dataset :
       {"rng/state", "progress/epoch", "progress/step", "progress/epoch_key", "progress/position",
        "progress/elapsed_ms", "progress/epoch_started", "progress/metrics_bytes", "recipe",
        "train_state"}) {
    PlainFile plain;
    plain.skip = dataset;
    plain.write(path);
    CHECK(load_error(path) == "checkpoint " + path + ": dataset " + dataset + " is missing");
  }
  // A dataset where a group belongs.
  {
    h5::File f = h5::File::create(path);
    f.set_attr_string("/", "format", "heed-checkpoint");
    f.set_attr_i64("/", "format_version", 3);
    const float x = 1;
    f.write_f32("model", {}, &x);
  }
  CHECK(load_error(path, CheckpointPart::weights) ==
        "checkpoint " + path + ": model is a dataset, not a group");
}

TEST_CASE("checkpoint: versions 1 and 2 still load, with what they did not store derived") {
  TempDir tmp;
  const std::string path = tmp.file("old.h5");
  PlainFile v1;
  v1.version = 1;
  v1.write(path);
  Checkpoint d = load_checkpoint(path);
  CHECK(d.train_state.empty());
  CHECK(d.progress.epoch_started);  // position 64
  CHECK(d.progress.metrics_bytes == -1);
  check_same(d.optimizer, sample().optimizer);

  // Version 2 stored no /optimizer group for an optimizer without state (plain SGD).
  PlainFile v2;
  v2.version = 2;
  v2.skip = "optimizer";
  v2.progress["position"] = 0;
  v2.write(path);
  d = load_checkpoint(path);
  CHECK(d.optimizer.empty());
  CHECK(d.train_state == sample().train_state);
  CHECK_FALSE(d.progress.epoch_started);
  CHECK(d.progress.metrics_bytes == -1);

  v2.skip = "train_state";
  v2.write(path);
  CHECK(load_error(path) == "checkpoint " + path + ": dataset train_state is missing");
}

TEST_CASE("checkpoint: every progress value out of range is an error naming the dataset") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  struct Case {
    const char* name;
    int64_t value;
    const char* error;
  };
  const Case cases[] = {
      {"epoch", -1, "dataset progress/epoch is -1, expected at least 0"},
      {"step", -5, "dataset progress/step is -5, expected at least 0"},
      {"step", std::numeric_limits<int64_t>::min(),
       "dataset progress/step is -9223372036854775808, expected at least 0"},
      {"position", -32, "dataset progress/position is -32, expected at least 0"},
      {"elapsed_ms", -1, "dataset progress/elapsed_ms is -1, expected at least 0"},
      {"metrics_bytes", -2, "dataset progress/metrics_bytes is -2, expected at least -1"},
      {"epoch_started", 2, "dataset progress/epoch_started is 2, expected 0 or 1"},
      {"epoch_started", -1, "dataset progress/epoch_started is -1, expected 0 or 1"},
      {"epoch_started", 0,
       "dataset progress/position is 64 but progress/epoch_started is 0: an epoch not started has "
       "served no examples"},
  };
  for (const Case& c : cases) {
    PlainFile plain;
    plain.progress[c.name] = c.value;
    plain.write(path);
    CHECK(load_error(path) == "checkpoint " + path + ": " + c.error);
    // Weights only does not read progress.
    CHECK_NOTHROW(load_checkpoint(path, CheckpointPart::weights));
  }
  // A progress dataset must hold one value.
  {
    PlainFile plain;
    plain.skip = "progress/step";
    plain.write(path);
    const std::vector<int64_t> two = {1, 2};
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t dims[1] = {2};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t d = H5Dcreate2(file, "progress/step", H5T_STD_I64LE, space, H5P_DEFAULT,
                               H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, two.data());
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(file);
  }
  CHECK(load_error(path) ==
        "checkpoint " + path + ": dataset progress/step holds 2 values, expected one");
}

TEST_CASE("checkpoint: the generator state must be 4 words, not all zero") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  PlainFile zero;
  zero.c.rng = {0, 0, 0, 0};
  zero.write(path);
  CHECK(load_error(path) == "checkpoint " + path +
                                ": dataset rng/state is all zero, which no xoshiro256** generator "
                                "reaches");
  PlainFile three;
  three.skip = "rng/state";
  three.write(path);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hsize_t dims[1] = {3};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hid_t d =
      H5Dcreate2(file, "rng/state", H5T_STD_U64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  const uint64_t words[3] = {1, 2, 3};
  H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, words);
  H5Dclose(d);
  H5Pclose(lcpl);
  H5Sclose(space);
  H5Fclose(file);
  CHECK(load_error(path) == "checkpoint " + path + ": dataset rng/state holds 3 words, expected 4");
}

TEST_CASE("checkpoint: train_state and recipe must be JSON objects") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  const std::string where = "checkpoint " + path + ": ";
  for (const std::string field : {"train_state", "recipe"}) {
    for (const std::string text : {"{\"schedule\": ", "{x}", "", "{\"a\": 1e999}"}) {
      PlainFile plain;
      (field == "recipe" ? plain.c.recipe : plain.c.train_state) = text;
      plain.write(path);
      const std::string message = load_error(path);
      CHECK_MESSAGE(starts_with(message, where + "dataset " + field + " is not valid JSON ("),
                    message);
      CHECK_MESSAGE(!contains(message, "json.exception"), message);
    }
    PlainFile array;
    (field == "recipe" ? array.c.recipe : array.c.train_state) = "[1, 2]";
    array.write(path);
    CHECK(load_error(path) == where + "dataset " + field + " is not a JSON object (it is array)");
  }
  PlainFile plain;
  plain.c.train_state = "{x}";
  plain.write(path);
  CHECK(load_error(path) == where +
                                "dataset train_state is not valid JSON (parse error at line 1, "
                                "column 2: syntax error while parsing object key - invalid "
                                "literal; last read: '{x'; expected string literal)");
}

TEST_CASE("checkpoint: a tensor neither float32 nor int64 is an error naming it and its type") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  const std::string where = "checkpoint " + path + ": ";
  PlainFile().write(path);
  add_float64(path, "model/fc.weight64");
  CHECK(load_error(path) == where +
                                "dataset model/fc.weight64 has type float64, expected float32 or "
                                "int64 (convert it, e.g. with numpy's .astype(\"float32\"))");
  CHECK(contains(load_error(path, CheckpointPart::weights), "model/fc.weight64 has type float64"));

  PlainFile().write(path);
  add_float64(path, "optimizer/fc.weight.momentum_buffer");
  CHECK(contains(load_error(path), "dataset optimizer/fc.weight.momentum_buffer has type float64"));
  CHECK_NOTHROW(load_checkpoint(path, CheckpointPart::weights));

  {
    h5::File f = h5::File::create(path);
    f.set_attr_string("/", "format", "heed-checkpoint");
    f.set_attr_i64("/", "format_version", 3);
    const uint64_t u = 1;
    f.write_u64("model/counts", {1}, &u);
    f.write_string("model/name", "fc");
  }
  CHECK(load_error(path, CheckpointPart::weights) ==
        where + "dataset model/counts has type uint64, expected float32 or int64");
}

TEST_CASE("checkpoint: NaN or infinity in /model or /optimizer is an error naming the dataset") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  const std::string where = "checkpoint " + path + ": ";
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  PlainFile model;
  model.c.model[1].second = Tensor::from_vector({0, 1, 2, nan, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  model.write(path);
  CHECK(load_error(path, CheckpointPart::weights) ==
        where +
            "dataset model/fc.weight holds nan at flat index 3; a checkpoint holds finite "
            "values only");
  PlainFile optimizer;
  optimizer.c.optimizer[1].second = Tensor::full({3, 4}, -inf);
  optimizer.write(path);
  CHECK(load_error(path) == where +
                                "dataset optimizer/fc.weight.exp_avg_sq holds -inf at flat index "
                                "0; a checkpoint holds finite values only");
  // save writes tensors as they are (the trainer decides what a diverged run keeps), and the
  // file it wrote is then refused.
  Checkpoint c = sample();
  c.model[2].second = Tensor::full({3}, inf);
  save_checkpoint(path, c);
  CHECK(contains(load_error(path), "dataset model/fc.bias holds inf at flat index 0"));
}

TEST_CASE("checkpoint: save refuses what load would refuse, and a failed save changes nothing") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  const std::string where = "checkpoint " + path + ": ";
  save_checkpoint(path, sample());
  const std::string before = files::read(path);

  Checkpoint c = sample();
  c.progress.step = -1;
  CHECK(error_of([&] { save_checkpoint(path, c); }) ==
        where + "cannot save: progress/step is -1, expected at least 0");
  c = sample();
  c.rng = {};
  CHECK(error_of([&] { save_checkpoint(path, c); }) ==
        where + "cannot save: the generator state is all zero");
  c = sample();
  c.train_state = "";
  CHECK(starts_with(error_of([&] { save_checkpoint(path, c); }),
                    where + "cannot save: train_state is not valid JSON ("));
  // An error while filling the file (two tensors of one name) writes nothing.
  c = sample();
  c.model.push_back(c.model[0]);
  CHECK(contains(error_of([&] { save_checkpoint(path, c); }), "it exists already"));
  CHECK(files::read(path) == before);
  CHECK(std::distance(fs::directory_iterator(tmp.fs_path()), fs::directory_iterator()) == 1);

  // A save into a missing directory fails cleanly and leaves no temporary file anywhere.
  const std::string nowhere = tmp.file("no/dir/x.h5");
  CHECK(contains(error_of([&] { save_checkpoint(nowhere, sample()); }), nowhere));
  CHECK_FALSE(fs::exists(tmp.fs_path() / "no"));
}

// Without the heed header nothing catches a changed tensor value: a flipped bit in tensor data
// loads a different value, or is refused when it makes a NaN or infinity. (A flipped bit in
// HDF5's own metadata reaches HDF5's parser, which in 1.10.8 can crash or hang on a damaged
// file, as h5py does on the same file; docs/checkpoint.md says so. Files heed wrote are checked
// before HDF5 parses them, above.)
TEST_CASE("checkpoint: flipped bits in the tensor data of a file without the heed header") {
  TempDir tmp;
  const std::string path = tmp.file("flipped.h5");
  PlainFile plain;
  plain.write(path);
  const std::string bytes = files::read(path);
  int loaded = 0, refused = 0;
  for (const StateDict* group : {&plain.c.model, &plain.c.optimizer}) {
    for (const auto& [name, t] : *group) {
      if (t.dtype() != Dtype::Float32) continue;
      const std::vector<float> values = t.to_vector();
      const size_t at = bytes.find(
          std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
      REQUIRE_MESSAGE(at != std::string::npos, name);
      // Per value: the lowest mantissa bit, and the top exponent bit (a huge value, or infinity).
      for (size_t i = 0; i < values.size(); ++i) {
        for (const auto& [byte, mask] : {std::pair{0, 0x01}, {3, 0x40}}) {
          xor_byte(path, at + 4 * i + byte, mask);
          try {
            load_checkpoint(path);
            ++loaded;
          } catch (const Error& e) {
            CHECK_MESSAGE(starts_with(e.what(), "checkpoint " + path + ": dataset "), e.what());
            CHECK_MESSAGE(contains(e.what(), "; a checkpoint holds finite values only"), e.what());
            ++refused;
          }
          xor_byte(path, at + 4 * i + byte, mask);
        }
      }
    }
  }
  CHECK(loaded > 0);
  CHECK(refused > 0);
}

// HDF5 1.10.8 crashes on this file (found by tests/fuzz/fuzz_checkpoint, docs/fuzzing.md); heed
// must survive it and name the file. The hang is in the corpus too, replayed by ctest's fuzz tests.
TEST_CASE("checkpoint: a file without the heed header that crashes HDF5 is an error, not a crash") {
  const std::string path =
      std::string(HEED_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_checkpoint/hdf5_accum_read_segv.h5";
  REQUIRE(files::read(path).substr(0, 8) == "\x89HDF\r\n\x1a\n");  // plain HDF5: no heed header
  const std::string e = load_error(path);
  CHECK_MESSAGE(contains(e, path + ": HDF5 crashed reading this file ("), e);
  CHECK_MESSAGE(contains(e,
                         "): it is corrupt (the file has no heed header, so no checksum could "
                         "tell)"),
                e);
}

// h5py (python3-h5py) and h5dump (hdf5-tools) read the files heed writes, the checksum can be
// verified from Python, and weights h5py writes load, all as docs/checkpoint.md shows. Each part
// is skipped where its tool is missing (tools/bootstrap.sh installs neither by default).
TEST_CASE("checkpoint: h5py and h5dump read a checkpoint heed wrote, and heed reads h5py's") {
  TempDir tmp;
  const std::string path = tmp.file("c.h5");
  const Checkpoint c = sample();
  save_checkpoint(path, c);
  if (std::system("h5dump --version >/dev/null 2>&1") == 0) {
    CHECK(std::system(("h5dump -n " + path + " | grep -q 'group      /optimizer'").c_str()) == 0);
    CHECK(std::system(("h5dump -d /progress/step " + path + " | grep -q '(0): 123'").c_str()) == 0);
  } else {
    MESSAGE("h5dump part skipped: no h5dump (Debian's hdf5-tools)");
  }
  if (std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) {
    MESSAGE("h5py part skipped: no h5py for /usr/bin/python3 (Debian's python3-h5py)");
    return;
  }
  const std::string check =
      "import sys, zlib, h5py, numpy\n"
      "p = sys.argv[1]\n"
      "data = open(p, 'rb').read()\n"
      "fields = dict(line.split(' ', 1)\n"
      "              for line in data[:512].rstrip(b'\\0').decode().splitlines()[1:])\n"
      "assert int(fields['payload_bytes']) == len(data) - 512, 'length'\n"
      "assert int(fields['crc32'], 16) == zlib.crc32(data[512:]), 'crc'\n"
      "f = h5py.File(p, 'r')\n"
      "assert f.userblock_size == 512\n"
      "assert f.attrs['format'] == 'heed-checkpoint' and f.attrs['format_version'] == 3\n"
      "assert (f['model/fc.bias'][()] == numpy.array(sys.argv[2:], dtype='float32')).all()\n"
      "assert f['progress/step'][()] == 123 and f['progress/metrics_bytes'][()] == 812\n"
      "assert 'fc.weight.exp_avg' in f['optimizer']\n"
      "assert f['train_state'].asstr()[()] == '" +
      c.train_state + "'\n";
  std::ofstream(tmp.file("check.py")) << check;
  std::string command = "/usr/bin/python3 " + tmp.file("check.py") + " " + path;
  char value[32];
  for (const float b : c.model[2].second.to_vector()) {
    std::snprintf(value, sizeof value, " %.9g", b);
    command += value;
  }
  CHECK(std::system(command.c_str()) == 0);

  const std::string weights = tmp.file("weights.h5");
  const std::string convert =
      "import sys, h5py, numpy\n"
      "state = {'fc.weight': numpy.arange(6.0).reshape(2, 3), 'bn.num_batches_tracked': 5}\n"
      "with h5py.File(sys.argv[1], 'w', libver=('v108', 'latest')) as f:\n"
      "    f.attrs['format'] = 'heed-checkpoint'\n"
      "    f.attrs['format_version'] = 3\n"
      "    f['model/fc.weight'] = state['fc.weight'].astype('float32')\n"
      "    f['model/bn.num_batches_tracked'] = numpy.int64(state['bn.num_batches_tracked'])\n"
      "    if len(sys.argv) > 2: f['model/fc.bias'] = numpy.zeros(2)  # float64, numpy's default\n";
  std::ofstream(tmp.file("convert.py")) << convert;
  REQUIRE(std::system(("/usr/bin/python3 " + tmp.file("convert.py") + " " + weights).c_str()) == 0);
  const Checkpoint w = load_checkpoint(weights, CheckpointPart::weights);
  REQUIRE(w.model.size() == 2);
  CHECK(w.model[0].first == "bn.num_batches_tracked");
  CHECK(w.model[0].second.to_vector_i64() == std::vector<int64_t>{5});
  CHECK(w.model[1].second.shape() == Shape{2, 3});
  CHECK(w.model[1].second.to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(load_error(weights) == "checkpoint " + weights + ": group optimizer is missing");
  REQUIRE(std::system(("/usr/bin/python3 " + tmp.file("convert.py") + " " + weights + " float64")
                          .c_str()) == 0);
  CHECK(contains(load_error(weights, CheckpointPart::weights),
                 "dataset model/fc.bias has type float64, expected float32 or int64"));
}
