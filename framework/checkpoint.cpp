#include "framework/checkpoint.h"

#include "framework/hdf5.h"

namespace heed {

namespace {

constexpr const char* kKind = "checkpoint";

StateDict read_tensors(const h5::File& file, const std::string& group) {
  StateDict out;
  if (!file.has(group)) return out;
  for (const std::string& name : file.list(group)) {
    const std::string path = group + "/" + name;
    const Shape shape = file.shape(path);
    if (file.dtype_name(path) == "int64")
      out.emplace_back(name, Tensor::from_vector_i64(file.read_i64(path), shape));
    else
      out.emplace_back(name, Tensor::from_vector(file.read_f32(path), shape));
  }
  return out;
}

int64_t scalar_i64(const h5::File& file, const std::string& name) {
  const std::vector<int64_t> v = file.read_i64(name);
  HEED_CHECK(v.size() == 1, kKind, " ", file.path(), ": dataset ", name, " should hold one value");
  return v[0];
}

}  // namespace

void write_tensors(h5::File& file, const std::string& group, const StateDict& tensors) {
  for (const auto& [name, t] : tensors) {
    const Tensor c = t.contiguous();
    if (c.dtype() == Dtype::Float32)
      file.write_f32(group + "/" + name, c.shape(), c.data());
    else
      file.write_i64(group + "/" + name, c.shape(), c.data_i64());
  }
}

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  h5::write_atomically(path, kKind, [&](h5::File& file) {
    file.set_attr_string("/", "format", "heed-checkpoint");
    file.set_attr_i64("/", "format_version", 2);
    write_tensors(file, "model", ckpt.model);
    write_tensors(file, "optimizer", ckpt.optimizer);
    file.write_u64("rng/state", {4}, ckpt.rng.data());
    const Progress& p = ckpt.progress;
    const int64_t epoch_key_bits = static_cast<int64_t>(p.epoch_key);
    file.write_i64("progress/epoch", {}, &p.epoch);
    file.write_i64("progress/step", {}, &p.step);
    file.write_i64("progress/epoch_key", {}, &epoch_key_bits);
    file.write_i64("progress/position", {}, &p.position);
    file.write_i64("progress/elapsed_ms", {}, &p.elapsed_ms);
    const int64_t epoch_started = p.epoch_started ? 1 : 0;
    file.write_i64("progress/epoch_started", {}, &epoch_started);
    file.write_i64("progress/metrics_bytes", {}, &p.metrics_bytes);
    file.write_string("recipe", ckpt.recipe);
    file.write_string("train_state", ckpt.train_state);
  });
}

Checkpoint load_checkpoint(const std::string& path) {
  const h5::File file = h5::File::open(path, kKind);
  HEED_CHECK(
      file.has_attr("/", "format") && file.get_attr_string("/", "format") == "heed-checkpoint",
      kKind, " ", path, ": not a heed checkpoint (no format=\"heed-checkpoint\" attribute)");
  const int64_t version = file.get_attr_i64("/", "format_version");
  HEED_CHECK(version == 1 || version == 2, kKind, " ", path, ": format_version ", version,
             " is not supported (expected 1 or 2)");
  Checkpoint c;
  HEED_CHECK(file.has("model"), kKind, " ", path, ": group model is missing");
  c.model = read_tensors(file, "model");
  c.optimizer = read_tensors(file, "optimizer");
  const std::vector<uint64_t> rng = file.read_u64("rng/state");
  HEED_CHECK(rng.size() == 4, kKind, " ", path, ": rng/state should hold 4 words, has ",
             rng.size());
  std::copy(rng.begin(), rng.end(), c.rng.begin());
  c.progress.epoch = scalar_i64(file, "progress/epoch");
  c.progress.step = scalar_i64(file, "progress/step");
  c.progress.epoch_key = static_cast<uint64_t>(scalar_i64(file, "progress/epoch_key"));
  c.progress.position = scalar_i64(file, "progress/position");
  c.progress.elapsed_ms = scalar_i64(file, "progress/elapsed_ms");
  c.progress.epoch_started = file.has("progress/epoch_started")
                                 ? scalar_i64(file, "progress/epoch_started") != 0
                                 : c.progress.position > 0;
  if (file.has("progress/metrics_bytes"))
    c.progress.metrics_bytes = scalar_i64(file, "progress/metrics_bytes");
  c.recipe = file.read_string("recipe");
  if (version >= 2) c.train_state = file.read_string("train_state");
  return c;
}

}  // namespace heed
