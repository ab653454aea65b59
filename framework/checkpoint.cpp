#include "framework/checkpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "framework/hdf5.h"

namespace heed {

namespace {

constexpr const char* kKind = "checkpoint";
constexpr const char* kFormat = "heed-checkpoint";
constexpr int64_t kFormatVersion = 3;

// Every error names the file: "checkpoint runs/x/last.h5: ...".
template <class... Parts>
[[noreturn]] void fail(const std::string& path, const Parts&... parts) {
  throw Error(detail::concat(kKind, " ", path, ": ", parts...));
}

// ---- checks shared by save and load, so that save never writes a file load refuses ----

// What is wrong with a progress value, or "".
std::string progress_problem(const Progress& p) {
  const auto at_least = [](const char* name, int64_t value, int64_t min) {
    return value >= min
               ? std::string()
               : detail::concat("progress/", name, " is ", value, ", expected at least ", min);
  };
  for (const std::string& problem :
       {at_least("epoch", p.epoch, 0), at_least("step", p.step, 0),
        at_least("position", p.position, 0), at_least("elapsed_ms", p.elapsed_ms, 0),
        at_least("metrics_bytes", p.metrics_bytes, -1)}) {
    if (!problem.empty()) return problem;
  }
  return "";
}

// An epoch that served examples has started; position 0 with epoch_started is a run that drew
// the epoch's order key and served nothing yet. save writes the flag as this, load checks it.
bool epoch_started(const Progress& p) {
  return p.epoch_started || p.position > 0;
}

// xoshiro256** never leaves the all-zero state and never reaches it, so a zero state is damage.
bool valid_rng(const std::array<uint64_t, 4>& state) {
  return std::any_of(state.begin(), state.end(), [](uint64_t w) { return w != 0; });
}

// What is wrong with `text` as a JSON object, or "".
std::string json_object_problem(const std::string& text) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ..." without the library's tag.
    const std::string what = e.what();
    const size_t tag_end = what.find("] ");
    return "is not valid JSON (" +
           (tag_end == std::string::npos ? what : what.substr(tag_end + 2)) + ")";
  }
  if (!value.is_object())
    return std::string("is not a JSON object (it is ") + value.type_name() + ")";
  return "";
}

void check_for_save(const std::string& path, const Checkpoint& c) {
  if (const std::string problem = progress_problem(c.progress); !problem.empty())
    fail(path, "cannot save: ", problem);
  if (!valid_rng(c.rng)) fail(path, "cannot save: the generator state is all zero");
  if (c.data_rng && !valid_rng(*c.data_rng))
    fail(path, "cannot save: the data order's generator state is all zero");
  for (const auto& [name, text] :
       {std::pair{"recipe", &c.recipe}, {"train_state", &c.train_state}}) {
    if (const std::string problem = json_object_problem(*text); !problem.empty())
      fail(path, "cannot save: ", name, " ", problem);
  }
}

// ---- reading ----

void require_group(const h5::File& file, const std::string& name) {
  if (!file.has(name)) fail(file.path(), "group ", name, " is missing");
  if (!file.is_group(name)) fail(file.path(), name, " is a dataset, not a group");
}

void require_dataset(const h5::File& file, const std::string& name) {
  if (!file.has(name)) fail(file.path(), "dataset ", name, " is missing");
}

int64_t read_version(const h5::File& file) {
  if (!file.has_attr("/", "format") || file.get_attr_string("/", "format") != kFormat)
    fail(file.path(), "not a heed checkpoint (no format=\"", kFormat, "\" attribute on /)");
  if (!file.has_attr("/", "format_version"))
    fail(file.path(), "attribute format_version of / is missing");
  const int64_t version = file.get_attr_i64("/", "format_version");
  if (version < 1 || version > kFormatVersion)
    fail(file.path(), "format_version ", version, " is not supported (this heed reads 1 to ",
         kFormatVersion,
         version > kFormatVersion ? "; the file was written by a newer heed)" : ")");
  return version;
}

// A NaN or infinity in a weight evaluates to NaN, and in optimizer state or a carried state
// trains to NaN after a resume; a file heed wrote holds one only if the run had diverged.
Tensor read_tensor(const h5::File& file, const std::string& name) {
  const std::string type = file.dtype_name(name);
  const Shape shape = file.shape(name);
  if (type == "int64") return Tensor::from_vector_i64(file.read_i64(name), shape);
  if (type != "float32")
    fail(file.path(), "dataset ", name, " has type ", type, ", expected float32 or int64",
         type == "float64" ? " (convert it, e.g. with numpy's .astype(\"float32\"))" : "");
  const std::vector<float> values = file.read_f32(name);
  const auto bad =
      std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
  if (bad != values.end())
    fail(file.path(), "dataset ", name, " holds ", *bad, " at flat index ", bad - values.begin(),
         "; a checkpoint holds finite values only");
  return Tensor::from_vector(values, shape);
}

StateDict read_tensors(const h5::File& file, const std::string& group) {
  require_group(file, group);
  StateDict out;
  for (const std::string& name : file.list(group))
    out.emplace_back(name, read_tensor(file, group + "/" + name));
  return out;
}

int64_t read_scalar(const h5::File& file, const std::string& name) {
  require_dataset(file, name);
  const std::vector<int64_t> v = file.read_i64(name);
  if (v.size() != 1)
    fail(file.path(), "dataset ", name, " holds ", v.size(), " values, expected one");
  return v[0];
}

Progress read_progress(const h5::File& file, int64_t version) {
  Progress p;
  p.epoch = read_scalar(file, "progress/epoch");
  p.step = read_scalar(file, "progress/step");
  p.epoch_key = static_cast<uint64_t>(read_scalar(file, "progress/epoch_key"));
  p.position = read_scalar(file, "progress/position");
  p.elapsed_ms = read_scalar(file, "progress/elapsed_ms");
  if (version >= 3) {
    const int64_t started = read_scalar(file, "progress/epoch_started");
    if (started != 0 && started != 1)
      fail(file.path(), "dataset progress/epoch_started is ", started, ", expected 0 or 1");
    p.epoch_started = started == 1;
    p.metrics_bytes = read_scalar(file, "progress/metrics_bytes");
  } else {
    p.epoch_started = epoch_started(p);  // versions 1 and 2 stored the position only
    p.metrics_bytes = -1;
  }
  if (const std::string problem = progress_problem(p); !problem.empty())
    fail(file.path(), "dataset ", problem);
  if (p.position > 0 && !p.epoch_started)
    fail(file.path(), "dataset progress/position is ", p.position,
         " but progress/epoch_started is 0: an epoch not started has served no examples");
  return p;
}

std::array<uint64_t, 4> read_rng(const h5::File& file, const std::string& name) {
  require_dataset(file, name);
  const std::vector<uint64_t> words = file.read_u64(name);
  if (words.size() != 4)
    fail(file.path(), "dataset ", name, " holds ", words.size(), " words, expected 4");
  std::array<uint64_t, 4> state{};
  std::copy(words.begin(), words.end(), state.begin());
  if (!valid_rng(state))
    fail(file.path(), "dataset ", name, " is all zero, which no xoshiro256** generator reaches");
  return state;
}

std::string read_json_object(const h5::File& file, const std::string& name) {
  require_dataset(file, name);
  std::string text = file.read_string(name);
  if (const std::string problem = json_object_problem(text); !problem.empty())
    fail(file.path(), "dataset ", name, " ", problem);
  return text;
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
  check_for_save(path, ckpt);
  h5::write_atomically(path, kKind, [&](h5::File& file) {
    file.set_attr_string("/", "format", kFormat);
    file.set_attr_i64("/", "format_version", kFormatVersion);
    // Groups first, so that an empty one (an optimizer before its first step) is stored too.
    file.create_group("model");
    write_tensors(file, "model", ckpt.model);
    file.create_group("optimizer");
    write_tensors(file, "optimizer", ckpt.optimizer);
    file.write_u64("rng/state", {4}, ckpt.rng.data());
    if (ckpt.data_rng) file.write_u64("rng/data_state", {4}, ckpt.data_rng->data());
    const Progress& p = ckpt.progress;
    const int64_t epoch_key_bits = static_cast<int64_t>(p.epoch_key);
    const int64_t started = epoch_started(p) ? 1 : 0;
    file.write_i64("progress/epoch", {}, &p.epoch);
    file.write_i64("progress/step", {}, &p.step);
    file.write_i64("progress/epoch_key", {}, &epoch_key_bits);
    file.write_i64("progress/position", {}, &p.position);
    file.write_i64("progress/elapsed_ms", {}, &p.elapsed_ms);
    file.write_i64("progress/epoch_started", {}, &started);
    file.write_i64("progress/metrics_bytes", {}, &p.metrics_bytes);
    file.write_string("recipe", ckpt.recipe);
    file.write_string("train_state", ckpt.train_state);
    if (ckpt.carried_state) {
      file.create_group("carried_state");  // empty at an epoch's start
      write_tensors(file, "carried_state", *ckpt.carried_state);
    }
    if (ckpt.averaged_model) {
      file.create_group("averaged_model");
      write_tensors(file, "averaged_model", *ckpt.averaged_model);
    }
  });
}

Checkpoint load_checkpoint(const std::string& path, CheckpointPart part) {
  const h5::File file = h5::File::open(path, kKind);
  if (!file.heed_kind().empty() && file.heed_kind() != kKind)
    fail(path, "this is a heed ", file.heed_kind(), " file, not a checkpoint");
  const int64_t version = read_version(file);
  Checkpoint c;
  c.model = read_tensors(file, "model");
  if (file.has("averaged_model")) c.averaged_model = read_tensors(file, "averaged_model");
  if (part == CheckpointPart::weights) return c;
  // Versions 1 and 2 stored no /optimizer group for an optimizer without state (plain SGD).
  if (version >= 3 || file.has("optimizer")) c.optimizer = read_tensors(file, "optimizer");
  c.rng = read_rng(file, "rng/state");
  if (file.has("rng/data_state")) c.data_rng = read_rng(file, "rng/data_state");
  c.progress = read_progress(file, version);
  c.recipe = read_json_object(file, "recipe");
  if (version >= 2) c.train_state = read_json_object(file, "train_state");
  if (file.has("carried_state")) c.carried_state = read_tensors(file, "carried_state");
  return c;
}

}  // namespace heed
