#include "framework/show.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "framework/checkpoint.h"
#include "framework/hdf5.h"
#include "framework/hdf5_header.h"
#include "framework/trainer.h"

namespace heed {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The checkpoint file PATH names, and its run directory ("" when it has none).
std::pair<std::string, std::string> locate(const std::string& path) {
  if (fs::is_directory(path)) {
    const fs::path file = fs::path(path) / "checkpoints" / "last.h5";
    HEED_CHECK(fs::exists(file), "run ", path,
               ": checkpoints/last.h5 is missing (not a run directory, or the run has written no "
               "checkpoint yet)");
    return {file.string(), path};
  }
  // runs/x/checkpoints/best.h5 belongs to runs/x.
  const fs::path dir = fs::path(path).parent_path();
  const fs::path run = dir.parent_path();
  if (dir.filename() == "checkpoints" &&
      (fs::exists(run / "metrics.jsonl") || fs::exists(run / "summary.json")))
    return {path, run.string()};
  return {path, ""};
}

// The JSON in `path`, or null when it is missing or does not parse (a report leaves it out).
json read_json_or_null(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  json value = json::parse(in, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? json() : value;
}

// metrics.jsonl's last eval line at or before `step` (an unreadable line is skipped).
json last_eval(const fs::path& metrics, int64_t step) {
  std::ifstream in(metrics);
  json found;
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("kind", "") == "eval" && j.contains("step") &&
        j["step"].is_number_integer() && j["step"].get<int64_t>() <= step)
      found = j;
  }
  return found;
}

// recipe[path...], or null where any part is missing.
json at(const json& recipe, std::initializer_list<const char*> path) {
  const json* node = &recipe;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return *node;
}

json schedule_names(const json& schedule) {
  if (schedule.is_null()) return "constant";
  std::string names;
  for (const json& s : schedule.is_array() ? schedule : json::array({schedule}))
    names += (names.empty() ? "" : " + ") + at(s, {"name"}).dump();
  return names;
}

// The keys a reader of a run wants first; absent train keys take TrainOptions' defaults.
json recipe_summary(const std::string& text) {
  const json r = json::parse(text, nullptr, false);
  if (!r.is_object()) return {{"error", "the checkpoint's /recipe is not a JSON object"}};
  const TrainOptions defaults;
  auto train = [&](const char* key, int64_t fallback) {
    const json v = at(r, {"train", key});
    return v.is_null() ? json(fallback) : v;
  };
  json s = {{"description", at(r, {"description"})},
            {"data", at(r, {"data", "name"})},
            {"model", at(r, {"model", "type"})},
            {"optimizer", at(r, {"optimizer", "name"})},
            {"lr", at(r, {"optimizer", "lr"})},
            {"schedule", schedule_names(at(r, {"schedule"}))},
            {"epochs", train("epochs", defaults.epochs)},
            {"batch_size", train("batch_size", defaults.batch_size)},
            {"seed", train("seed", static_cast<int64_t>(defaults.seed))}};
  if (const json e = at(r, {"model", "encoder", "type"}); !e.is_null()) s["encoder"] = e;
  if (const json layers = at(r, {"model", "layers"}); layers.is_array()) {
    s["layers"] = json::array();
    for (const json& l : layers) s["layers"].push_back(at(l, {"type"}));
  }
  if (const json init = at(r, {"init_from"}); !init.is_null()) s["init_from"] = init;
  return s;
}

double l2_norm(const Tensor& t) {
  double sum = 0;
  if (t.dtype() == Dtype::Float32) {
    for (float v : t.to_vector()) sum += static_cast<double>(v) * v;
  } else {
    for (int64_t v : t.to_vector_i64()) sum += static_cast<double>(v) * static_cast<double>(v);
  }
  return std::sqrt(sum);
}

// Chains the CRC-32 of t's values (native little-endian bytes, as HDF5 stores them) to crc.
uint32_t chain_crc32(const Tensor& t, uint32_t crc) {
  if (t.dtype() == Dtype::Float32) {
    const std::vector<float> v = t.to_vector();
    return h5::crc32_of({reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)}, crc);
  }
  const std::vector<int64_t> v = t.to_vector_i64();
  return h5::crc32_of({reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int64_t)}, crc);
}

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// "layers.3.weight" before "layers.13.weight": digit runs compare as numbers, so stacked and
// Sequential layers list in the model's order rather than HDF5's bytewise one.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i_end = i, j_end = j;
      while (i_end < a.size() && std::isdigit(static_cast<unsigned char>(a[i_end]))) ++i_end;
      while (j_end < b.size() && std::isdigit(static_cast<unsigned char>(b[j_end]))) ++j_end;
      const std::string x = a.substr(i, i_end - i), y = b.substr(j, j_end - j);
      if (x.size() != y.size()) return x.size() < y.size();  // no leading zeros in heed's names
      if (x != y) return x < y;
      i = i_end, j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

json model_table(StateDict model) {
  std::stable_sort(model.begin(), model.end(),
                   [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
  json tensors = json::array();
  int64_t elements = 0, f32 = 0;
  uint32_t crc = 0;
  for (const auto& [name, t] : model) {
    crc = chain_crc32(t, crc);
    tensors.push_back({{"name", name},
                       {"shape", t.shape()},
                       {"dtype", dtype_name(t.dtype())},
                       {"numel", t.numel()},
                       {"norm", l2_norm(t)}});
    elements += t.numel();
    if (t.dtype() == Dtype::Float32) f32 += t.numel();
  }
  return {{"tensors", tensors},
          {"count", model.size()},
          {"elements", elements},
          {"float32_elements", f32},
          {"int64_elements", elements - f32},
          // The values alone, in the table's order: equal for two checkpoints whose weights are
          // the same bits (e.g. before and after a refactoring), whatever else they hold.
          {"values_crc32", hex32(crc)}};
}

// Per-parameter state is keyed "<parameter>.<state>": grouped by <state>; "step" is the largest
// step count any parameter's state holds (Adam's and its kin's).
json optimizer_summary(const StateDict& optimizer) {
  json states = json::object();
  int64_t elements = 0;
  json step;
  for (const auto& [key, t] : optimizer) {
    const std::string state = key.substr(key.rfind('.') + 1);
    json& s = states[state];
    if (s.is_null()) s = {{"count", 0}, {"elements", 0}};
    s["count"] = s["count"].get<int64_t>() + 1;
    s["elements"] = s["elements"].get<int64_t>() + t.numel();
    elements += t.numel();
    if (state == "step" && t.numel() == 1) {
      const double v = t.dtype() == Dtype::Float32 ? t.item() : static_cast<double>(t.item_i64());
      if (step.is_null() || v > step.get<double>()) step = v;
    }
  }
  json out = {{"count", optimizer.size()}, {"elements", elements}, {"states", states}};
  if (!step.is_null()) out["step"] = step;
  return out;
}

int64_t format_version(const std::string& file) {
  const h5::File f = h5::File::open(file, "checkpoint");
  return f.get_attr_i64("/", "format_version");
}

}  // namespace

nlohmann::json describe_checkpoint(const std::string& path) {
  const auto [file, run_dir] = locate(path);
  const Checkpoint c = load_checkpoint(file);
  json report = {{"file", file}, {"format_version", format_version(file)}};
  const Progress& p = c.progress;
  report["progress"] = {{"epoch", p.epoch},
                        {"step", p.step},
                        {"position", p.position},
                        {"elapsed_s", static_cast<double>(p.elapsed_ms) / 1000.0}};
  json metrics = json::object();
  if (!run_dir.empty()) {
    json run = {{"dir", run_dir}};
    const json summary = read_json_or_null(fs::path(run_dir) / "summary.json");
    if (summary.is_object() && summary.contains("status")) {
      run["status"] = summary["status"];
      run["steps"] = summary.value("steps", json());
    }
    report["run"] = run;
    const json eval = last_eval(fs::path(run_dir) / "metrics.jsonl", p.step);
    if (!eval.is_null()) metrics["last_eval"] = eval;
  }
  const json state = json::parse(c.train_state.empty() ? "{}" : c.train_state, nullptr, false);
  if (state.is_object() && state.contains("best_eval")) metrics["best_eval"] = state["best_eval"];
  if (state.is_object() && state.contains("early_stopping"))
    metrics["early_stopping"] = state["early_stopping"];
  report["metrics"] = metrics;
  report["recipe"] = recipe_summary(c.recipe);
  report["model"] = model_table(c.model);
  report["optimizer"] = optimizer_summary(c.optimizer);
  return report;
}

namespace {

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

// "42.3s", "3m 07.2s", "2h 05m 07s".
std::string duration(double seconds) {
  char buffer[48];
  const auto s = static_cast<int64_t>(seconds);
  if (seconds < 60)
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  else if (seconds < 3600)
    std::snprintf(buffer, sizeof buffer, "%lldm %04.1fs", static_cast<long long>(s / 60),
                  seconds - static_cast<double>(s / 60 * 60));
  else
    std::snprintf(buffer, sizeof buffer, "%lldh %02lldm %02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buffer;
}

// "step 2814 (test, 10000 samples): accuracy 0.8765, loss 0.3412"
std::string eval_line(const json& e) {
  std::string out = "step " + e.value("step", json()).dump();
  if (e.contains("split")) out += " (" + e["split"].get<std::string>();
  if (e.contains("samples")) out += ", " + e["samples"].dump() + " samples";
  if (e.contains("split")) out += ")";
  std::string sep = ": ";
  for (const auto& [key, value] : e.items()) {
    if (!value.is_number() || key == "step" || key == "epoch" || key == "samples" ||
        key == "elapsed_s")
      continue;
    out += sep + key + " " + number(value.get<double>());
    sep = ", ";
  }
  return out;
}

// "1 tensor", "6 tensors".
std::string count_of(const json& n, const std::string& noun) {
  return n.dump() + " " + noun + (n == 1 ? "" : "s");
}

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "(default)" : v.dump();
}

std::string recipe_lines(const json& r) {
  if (r.contains("error")) return "recipe       " + r["error"].get<std::string>() + "\n";
  std::ostringstream out;
  if (r["description"].is_string())
    out << "description  " << r["description"].get<std::string>() << "\n";
  out << "recipe       data " << text_of(r["data"]) << ", model " << text_of(r["model"]);
  if (r.contains("encoder")) out << " (encoder " << text_of(r["encoder"]) << ")";
  if (r.contains("layers")) {
    std::string layers;
    for (const json& l : r["layers"]) layers += (layers.empty() ? "" : " ") + text_of(l);
    out << " (layers " << layers << ")";
  }
  out << "\n             optimizer " << text_of(r["optimizer"]) << ", lr " << text_of(r["lr"])
      << ", schedule " << text_of(r["schedule"]) << "\n             epochs " << text_of(r["epochs"])
      << ", batch_size " << text_of(r["batch_size"]) << ", seed " << text_of(r["seed"]) << "\n";
  if (r.contains("init_from")) out << "init_from    " << text_of(r["init_from"]) << "\n";
  return out.str();
}

std::string tensor_table(const json& model) {
  std::vector<std::array<std::string, 5>> rows = {{"name", "shape", "dtype", "elements", "norm"}};
  for (const json& t : model["tensors"])
    rows.push_back({t["name"].get<std::string>(), shape_str(t["shape"].get<Shape>()),
                    t["dtype"].get<std::string>(), t["numel"].dump(),
                    number(t["norm"].get<double>())});
  std::array<size_t, 5> width{};
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::ostringstream out;
  for (const auto& row : rows) {
    out << "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(width[i] - row[i].size(), ' ');
      // Numbers right-aligned, words left-aligned.
      out << (i >= 3 ? pad + row[i] : row[i] + (i + 1 < row.size() ? pad : ""))
          << (i + 1 < row.size() ? "  " : "\n");
    }
  }
  return out.str();
}

}  // namespace

std::string format_checkpoint_report(const nlohmann::json& r) {
  std::ostringstream out;
  const json& p = r["progress"];
  out << "checkpoint   " << r["file"].get<std::string>() << " (format_version "
      << r["format_version"] << ")\n";
  if (r.contains("run")) {
    const json& run = r["run"];
    out << "run          " << run["dir"].get<std::string>();
    if (run.contains("status"))
      out << ": " << text_of(run["status"]) << " at step " << text_of(run["steps"])
          << " (summary.json)";
    out << "\n";
  }
  const int64_t epoch = p["epoch"], position = p["position"];
  out << "progress     step " << p["step"] << ", " << epoch << (epoch == 1 ? " epoch" : " epochs")
      << " completed, "
      << (position > 0
              ? std::to_string(position) + " examples into epoch " + std::to_string(epoch + 1)
          : epoch == 0 ? std::string("at the start")
                       : "at the end of epoch " + std::to_string(epoch))
      << ", trained " << duration(p["elapsed_s"].get<double>()) << "\n";
  const json& m = r["metrics"];
  if (m.contains("last_eval")) out << "last eval    " << eval_line(m["last_eval"]) << "\n";
  if (m.contains("best_eval")) out << "best eval    " << eval_line(m["best_eval"]) << "\n";
  if (m.contains("early_stopping")) out << "early stop   " << m["early_stopping"].dump() << "\n";
  out << recipe_lines(r["recipe"]);
  const json& model = r["model"];
  out << "model        " << count_of(model["count"], "tensor") << " in /model\n"
      << tensor_table(model) << "  total: " << count_of(model["count"], "tensor") << ", "
      << model["elements"] << " elements (float32 " << model["float32_elements"] << ", int64 "
      << model["int64_elements"] << "), values crc32 " << model["values_crc32"].get<std::string>()
      << "\n";
  const json& o = r["optimizer"];
  out << "optimizer    " << count_of(o["count"], "tensor") << ", " << o["elements"] << " elements";
  std::string sep = ": ";
  for (const auto& [name, s] : o["states"].items()) {
    out << sep << name << " x" << s["count"];
    sep = ", ";
  }
  if (o.contains("step")) out << "; step " << number(o["step"].get<double>());
  out << "\n";
  return out.str();
}

}  // namespace heed
