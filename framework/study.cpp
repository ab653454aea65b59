#include "framework/study.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "framework/config.h"
#include "framework/error.h"
#include "framework/files.h"
#include "framework/recipe.h"
#include "framework/run_dir.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

// A variant's name is a directory of the study, so it is a plain file name.
bool is_safe_name(const std::string& name) {
  if (name.empty() || name.size() > 100 || name == "." || name == "..") return false;
  for (char ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
      return false;
  return true;
}

// The object at `key` of `c` ({path: value}), each path non-empty.
nlohmann::json recipe_values(const Config& c, const std::string& key) {
  const Config values = c.child(key);
  HEED_RECIPE_CHECK(values.json().is_object(), values.path(),
                    " must be an object of recipe paths and values, got ", values.json().dump());
  for (const auto& [path, value] : values.json().items())
    HEED_RECIPE_CHECK(!path.empty(), values.path(), " has an empty recipe path");
  return values.json();
}

std::vector<StudyVariant> read_variants(const Config& root) {
  std::vector<StudyVariant> variants;
  std::set<std::string> names;
  for (const Config& v : root.objects("variants")) {
    v.finish_with({"name", "set"});
    StudyVariant variant{v.require<std::string>("name"), recipe_values(v, "set")};
    HEED_RECIPE_CHECK(is_safe_name(variant.name), v.path_of("name"),
                      " must be letters, digits, '-', '_' or '.' (it names the variant's "
                      "directory), got \"",
                      variant.name, "\"");
    HEED_RECIPE_CHECK(names.insert(variant.name).second, v.path_of("name"), " \"", variant.name,
                      "\" is the name of an earlier variant");
    variants.push_back(std::move(variant));
  }
  HEED_RECIPE_CHECK(!variants.empty(), root.path_of("variants"), " must list at least one variant");
  return variants;
}

// "32" for 32, "additive" for "additive" (no quotes), JSON otherwise.
std::string value_label(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// An axis is labelled by the last key of its path ("batch_size"), or by its whole path when
// another axis ends in the same key.
std::vector<std::string> axis_names(const nlohmann::json& axes) {
  std::vector<std::string> names;
  for (const auto& [path, values] : axes.items()) names.push_back(path.substr(path.rfind('.') + 1));
  std::vector<std::string> out;
  size_t i = 0;
  for (const auto& [path, values] : axes.items()) {
    const bool shared = std::count(names.begin(), names.end(), names[i]) > 1;
    out.push_back(shared ? path : names[i]);
    ++i;
  }
  return out;
}

// The grid's axes crossed, in the order of their paths, the last one fastest; each point
// labelled "batch_size=32,dropout=0.1".
std::vector<GridPoint> read_grid(const Config& root) {
  std::vector<GridPoint> points(1);
  const nlohmann::json axes = recipe_values(root, "grid");
  const std::vector<std::string> names = axis_names(axes);
  size_t axis = 0;
  for (const auto& [path, values] : axes.items()) {
    const std::string where = root.path_of("grid") + "." + path;
    HEED_RECIPE_CHECK(values.is_array() && !values.empty(), where,
                      " must be a non-empty list of the values to try, got ", values.dump());
    std::vector<GridPoint> crossed;
    for (const GridPoint& point : points)
      for (const nlohmann::json& value : values) {
        GridPoint p = point;
        p.label += (p.label.empty() ? "" : ",") + names[axis] + "=" + value_label(value);
        p.set[path] = value;
        HEED_RECIPE_CHECK(p.label.find('/') == std::string::npos, where, " gives the point \"",
                          p.label, "\", which cannot name a directory (a '/')");
        crossed.push_back(std::move(p));
      }
    points = std::move(crossed);
    ++axis;
  }
  std::set<std::string> labels;
  for (const GridPoint& p : points)
    HEED_RECIPE_CHECK(labels.insert(p.label).second, root.path_of("grid"), " gives the point \"",
                      p.label, "\" twice (an axis repeats a value)");
  return points;
}

std::vector<int64_t> read_seeds(const Config& root) {
  const std::vector<int64_t> seeds = root.get_list<int64_t>("seeds", {1}, Range::at_least(0));
  std::set<int64_t> seen;
  for (size_t i = 0; i < seeds.size(); ++i)
    HEED_RECIPE_CHECK(seen.insert(seeds[i]).second, root.path_of("seeds") + "." + std::to_string(i),
                      " repeats seed ", seeds[i]);
  return seeds;
}

std::vector<StudyMetric> read_metrics(const Config& root) {
  std::vector<StudyMetric> metrics;
  for (const Config& m : root.objects("metrics")) {
    m.finish_with({"name", "mode"});
    const std::string name = m.require<std::string>("name");
    const std::string mode = m.require<std::string>("mode");
    metrics.push_back({name, m.choice("mode", mode, {"min", "max"}) == "max"});
  }
  HEED_RECIPE_CHECK(
      !metrics.empty(), root.path_of("metrics"),
      " must list at least one metric, e.g. [{\"name\": \"wer\", \"mode\": \"min\"}]");
  return metrics;
}

nlohmann::json read_base(const Config& root, const std::string& study_path) {
  HEED_RECIPE_CHECK(root.has("base"), root.path_of("base"),
                    " is required: a recipe file (relative to the study) or a recipe object");
  const nlohmann::json& base = root.json().at("base");
  if (base.is_string()) {
    const fs::path file = fs::path(study_path).parent_path() / base.get<std::string>();
    return load_recipe(file.string());
  }
  HEED_RECIPE_CHECK(base.is_object(), root.path_of("base"),
                    " must be a recipe file name or a recipe object, got ", base.dump());
  return resolve_recipe(base, study_path);
}

const std::vector<std::string> kStudyKeys = {"description", "base",    "variants", "grid",
                                             "seeds",       "metrics", "baseline"};

Study parse_study(const Config& root, const std::string& path) {
  root.finish_with(kStudyKeys);  // a misspelt key first, not as a missing one
  Study s;
  s.path = path;
  s.description = root.get<std::string>("description", "");
  s.base = read_base(root, path);
  s.variants = read_variants(root);
  s.points = read_grid(root);
  s.grid = root.json().value("grid", nlohmann::json::object());
  s.seeds = read_seeds(root);
  s.metrics = read_metrics(root);
  s.baseline = root.get<std::string>("baseline", s.variants.front().name);
  std::vector<std::string> names;
  for (const StudyVariant& v : s.variants) names.push_back(v.name);
  if (std::find(names.begin(), names.end(), s.baseline) == names.end())
    throw RecipeError(root.path_of("baseline"),
                      unknown_name_message("variant", root.path_of("baseline"), s.baseline, names));
  return s;
}

// Every error of a study names the study file: "recipe: \"seeds.1\" ..." becomes
// "study s.json: \"seeds.1\" ...", and an error of the base recipe's own file follows the prefix.
Error study_error(const std::string& path, const std::string& what) {
  const std::string prefix = "recipe: ";
  const bool is_study_path = what.compare(0, prefix.size(), prefix) == 0;
  return Error("study " + path + ": " + (is_study_path ? what.substr(prefix.size()) : what));
}

}  // namespace

Study load_study(const std::string& path) {
  nlohmann::json json;
  try {
    json = parse_recipe_text(files::read(path, "study"), path);
  } catch (const Error& e) {
    // "recipe s.json:12: duplicate key ..." is about the study's own text: it says "study".
    const std::string what = e.what(), parser_prefix = "recipe ";
    const bool from_parser = what.rfind(parser_prefix, 0) == 0;
    throw Error(from_parser ? "study " + what.substr(parser_prefix.size()) : what);
  }
  if (!json.is_object()) throw Error("study " + path + ": the top level must be a JSON object");
  try {
    return parse_study(Config(json, ""), path);
  } catch (const Error& e) {
    throw study_error(path, e.what());
  }
}

std::vector<StudyRun> Study::runs() const {
  std::vector<StudyRun> out;
  for (const StudyVariant& v : variants)
    for (const GridPoint& p : points)
      for (int64_t seed : seeds) {
        StudyRun run{v.name, p.label, seed, "", base};
        try {
          for (const auto& [key, value] : v.set.items()) set_recipe_value(run.recipe, key, value);
          for (const auto& [key, value] : p.set.items()) set_recipe_value(run.recipe, key, value);
        } catch (const RecipeError& e) {
          throw Error("study " + path + ": variant \"" + v.name + "\"" +
                      (p.label.empty() ? "" : " at " + p.label) + ": " + e.what());
        }
        run.recipe["train"]["seed"] = seed;
        run.dir = v.name + (p.label.empty() ? "" : "/" + p.label) + "/seed-" + std::to_string(seed);
        out.push_back(std::move(run));
      }
  return out;
}

RunState run_state(const std::string& run_dir) {
  const fs::path summary = fs::path(run_dir) / "summary.json";
  if (fs::exists(summary)) {
    const nlohmann::json s = read_run_json(summary.string());
    const std::string status = s.value("status", "");
    if (status == "finished" || status == "early_stopped" || status == "diverged")
      return RunState::Ended;
  }
  return RunDir::has_checkpoint(run_dir) ? RunState::Started : RunState::New;
}

namespace {

// "/model/decoder/attention" (a JSON pointer) -> "model.decoder.attention".
std::string dotted(nlohmann::json::json_pointer pointer) {
  std::string out;
  for (; !pointer.empty(); pointer = pointer.parent_pointer())
    out = pointer.back() + (out.empty() ? "" : "." + out);
  return out.empty() ? "(root)" : out;
}

}  // namespace

std::string recipe_mismatch(const std::string& run_dir, const nlohmann::json& recipe) {
  nlohmann::json there = read_run_json((fs::path(run_dir) / "recipe.resolved.json").string());
  nlohmann::json here = recipe;
  // What only sets how fast or in how much memory a run computes the same numbers, or which
  // statistics its evaluations add, may change.
  for (nlohmann::json* r : {&there, &here})
    if (r->contains("train") && (*r)["train"].is_object())
      for (const char* key : {"threads", "eval_batch_size", "attention_statistics"})
        (*r)["train"].erase(key);
  const nlohmann::json patch = nlohmann::json::diff(there, here);
  if (patch.empty()) return "";
  const nlohmann::json& first = patch.front();
  nlohmann::json::json_pointer at(first["path"].get<std::string>());
  if (!at.empty() && at.back() == "-") at = at.parent_pointer();  // an element added to a list
  const auto shown = [&](const nlohmann::json& r) {
    return r.contains(at) ? r.at(at).dump() : std::string("absent");
  };
  return "\"" + dotted(at) + "\" is " + shown(there) + " there, " + shown(here) + " in the study";
}

}  // namespace heed
