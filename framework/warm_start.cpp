#include "framework/warm_start.h"

#include <filesystem>
#include <iostream>
#include <map>

#include "framework/checkpoint.h"
#include "framework/hdf5.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

constexpr const char* kKind = "init_from";

// Datasets under `group`, depth first; a nested group's children are keyed "<group>.<child>",
// so h5py files written as model/fc/weight read as "fc.weight".
void read_group(const h5::File& file, const std::string& group, const std::string& prefix,
                StateDict& out) {
  for (const std::string& name : file.list(group)) {
    const std::string path = group + "/" + name;
    if (file.is_group(path)) {
      read_group(file, path, prefix + name + ".", out);
      continue;
    }
    const Shape shape = file.shape(path);
    const std::string dtype = file.dtype_name(path);
    HEED_CHECK(dtype == "float32" || dtype == "int64", kKind, " ", file.path(), ": dataset ", path,
               " is ", dtype, "; heed loads float32 weights and int64 counters (from numpy, write ",
               "float32 with .astype(\"float32\"))");
    if (dtype == "int64")
      out.emplace_back(prefix + name, Tensor::from_vector_i64(file.read_i64(path), shape));
    else
      out.emplace_back(prefix + name, Tensor::from_vector(file.read_f32(path), shape));
  }
}

std::string mismatch_reason(const Tensor& in_file, const Tensor& in_model) {
  if (in_file.shape() != in_model.shape())
    return "shape " + shape_str(in_file.shape()) + " in the file, " + shape_str(in_model.shape()) +
           " in the model";
  return std::string("dtype ") + dtype_name(in_file.dtype()) + " in the file, " +
         dtype_name(in_model.dtype()) + " in the model";
}

// Loads what matches by name, shape and dtype; every other key of either side is reported.
WarmStartReport load_matching(const StateDict& weights, Module& model, WarmStartReport report) {
  std::map<std::string, Tensor> given(weights.begin(), weights.end());
  for (const auto& [name, t] : model.state_dict()) {
    const auto it = given.find(name);
    if (it == given.end()) {
      report.skipped.push_back({name, "not in the file"});
      continue;
    }
    if (it->second.shape() == t.shape() && it->second.dtype() == t.dtype()) {
      t.copy_(it->second);
      ++report.loaded;
    } else {
      report.skipped.push_back({name, mismatch_reason(it->second, t)});
    }
    given.erase(it);
  }
  for (const auto& [name, t] : weights)
    if (given.count(name)) report.skipped.push_back({name, "not in the model"});
  return report;
}

}  // namespace

std::optional<InitFrom> InitFrom::from_config(const Config& root) {
  if (!root.has("init_from")) return std::nullopt;
  const nlohmann::json& value = root.json().at("init_from");
  InitFrom from;
  if (value.is_string()) {
    from.path = value.get<std::string>();
  } else {
    HEED_RECIPE_CHECK(value.is_object(), "init_from", " must be a file name or ",
                      "{\"path\": ..., \"strict\": true|false}, got ", value.dump());
    const Config c = root.child("init_from");
    from.path = c.require<std::string>("path");
    from.strict = c.get<bool>("strict", from.strict);
    c.finish();
  }
  HEED_RECIPE_CHECK(!from.path.empty(), "init_from", " names no file (an empty path)");
  return from;
}

nlohmann::json WarmStartReport::to_json() const {
  nlohmann::json skipped_keys = nlohmann::json::array();
  for (const SkippedKey& s : skipped)
    skipped_keys.push_back({{"key", s.key}, {"reason", s.reason}});
  return {{"kind", "init_from"}, {"step", 0},        {"path", path},
          {"strict", strict},    {"loaded", loaded}, {"skipped", skipped_keys}};
}

StateDict read_model_weights(const std::string& path) {
  if (!fs::exists(path))
    throw Error(std::string(kKind) + " " + path + ": no such file" +
                (fs::path(path).is_absolute() ? ""
                                              : " (the path is relative to the working directory " +
                                                    fs::current_path().string() + ")"));
  const h5::File file = h5::File::open(path, kKind);
  if (file.has_attr("/", "format") && file.get_attr_string("/", "format") == "heed-checkpoint")
    return load_checkpoint(path, CheckpointPart::weights).model;
  HEED_CHECK(file.has("model") && file.is_group("model"), kKind, " ", path,
             ": no /model group (expected a heed checkpoint, or an HDF5 file with one dataset ",
             "/model/<state_dict key> per tensor)");
  StateDict out;
  read_group(file, "model", "", out);
  return out;
}

WarmStartReport warm_start(const InitFrom& from, Module& model, std::ostream& log) {
  const StateDict weights = read_model_weights(from.path);
  WarmStartReport report;
  report.path = from.path;
  report.strict = from.strict;
  if (from.strict) {
    try {
      model.load_state_dict(weights);
    } catch (const Error& e) {
      throw Error(std::string(kKind) + " " + from.path + ": " + e.what() +
                  " (\"init_from\": {\"path\": ..., \"strict\": false} loads what matches)");
    }
    report.loaded = static_cast<int64_t>(weights.size());
    return report;
  }
  report = load_matching(weights, model, report);
  for (const SkippedKey& s : report.skipped)
    log << kKind << " " << from.path << ": skipped " << s.key << " (" << s.reason << ")\n";
  return report;
}

nlohmann::json apply_init_from(const Config& root, Module& model, const std::string& run_dir) {
  const std::optional<InitFrom> from = InitFrom::from_config(root);
  if (!from || fs::exists(fs::path(run_dir) / "checkpoints" / "last.h5")) return nullptr;
  const WarmStartReport report = warm_start(*from, model, std::cerr);
  std::cerr << kKind << " " << from->path << ": loaded " << report.loaded << " of "
            << model.state_dict().size() << " tensors of the model\n";
  return report.to_json();
}

}  // namespace heed
