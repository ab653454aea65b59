#pragma once
// Config: typed, checked reading of one JSON object of a recipe.
//
// Every recipe section (model, optimizer, data, train, output) and every options struct's
// from_json reads its keys through a Config, which remembers the keys it was asked for. finish()
// then rejects whatever the JSON holds beyond them, naming the full JSON path and the nearest
// valid key:
//   recipe: unknown key "model.encoder.hiden_size"; did you mean "hidden_size"? (valid keys: ...)
// Wrong types name the path and the expected type:
//   recipe: "train.epochs" must be an integer, got "ten" (a string)
// Every number is read with the Range it must lie in, documented beside the key (docs/), so a
// value that would exhaust memory, overflow a product of sizes or fail at step 1 is refused when
// the recipe is read (`heed train --dry-run`), naming the path, the range and the value:
//   recipe: "model.encoder.hidden_size" must be in [1, 1048576], got -1
//   c.get<int64_t>("hidden_size", 128, range::size)
// All of these are heed::RecipeError (framework/error.h), carrying the path. Errors thrown while
// building a part from the values (a layer's constructor, oneDNN, an allocation) are given the
// part's path by with_recipe_path:
//   recipe: "model.encoder": Linear: in_features and out_features must be positive, ...
// Paths are dotted, list elements by index ("model.layers.3.kernel_size",
// "optimizer.param_groups.0.lr"), the same paths `--set` takes.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "framework/error.h"

namespace heed {

/// Limits shared by every part: generous for real models, but small enough that no single value
/// can exhaust memory before the allocation check (framework/tensor.cpp) sees it, or overflow an
/// int64 product of three sizes.
inline constexpr int64_t kMaxSize = int64_t{1} << 20;   // widths, channels, heads, kernels, windows
inline constexpr int64_t kMaxLayers = 1024;             // stacked layers of one encoder
inline constexpr int64_t kMaxCount = int64_t{1} << 40;  // steps, epochs, samples

/// The interval a recipe number must lie in; every accepted number is also finite (and, for a
/// float32 option, finite as a float32). Range{1, kMaxSize} is closed; the factories below make
/// the open and one-sided ones.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  /// [lo, inf)
  static constexpr Range at_least(double lo) { return {lo}; }
  /// (lo, inf)
  static constexpr Range above(double lo) { return {lo, Range{}.hi, true}; }
  /// [lo, hi)
  static constexpr Range below(double lo, double hi) { return {lo, hi, false, true}; }

  /// True for a finite `v` inside the interval.
  bool contains(double v) const;
  /// "in [1, 1048576]", "in [0, 1)", ">= 0", "> 0" or "finite", as errors and docs print it.
  std::string str() const;
};

/// The ranges most options use; docs/recipes.md lists which key has which.
namespace range {
inline constexpr Range size{1, kMaxSize};               // a width, count of channels or heads
inline constexpr Range size_or_zero{0, kMaxSize};       // padding, a window that may be empty
inline constexpr Range layers{1, kMaxLayers};           // num_layers
inline constexpr Range count{1, kMaxCount};             // steps, epochs
inline constexpr Range count_or_zero{0, kMaxCount};     // 0: off / all
inline constexpr Range probability{0, 1};               // dropout p, label smoothing
inline constexpr Range below_one = Range::below(0, 1);  // Adam's betas, weight drop
inline constexpr Range non_negative = Range::at_least(0);
inline constexpr Range positive = Range::above(0);
}  // namespace range

/// Throws heed::RecipeError `recipe: "<path>" must be <range>, got <value>` unless `range` contains
/// `value`; `shown` is the value as the recipe wrote it (its JSON), or "" to print `value`.
void check_range(const std::string& path, double value, const Range& range,
                 const std::string& shown = "");

/// One option as the code that reads it declares it, for `heed list` (Config::describe).
struct OptionDoc {
  std::string key;         // below the described object: "window", "attention.type"
  std::string fallback;    // the default as JSON ("4", "\"general\"", "true"); "" when required
  std::string constraint;  // "in [1, 1048576]", "one of \"dot\", \"general\"", or ""
};

/// "window (4, in [0, 1048576]); score (\"general\": \"dot\" | \"general\")", or "(none)".
std::string options_text(const std::vector<OptionDoc>& options);

class Config {
 public:
  /// `path` is the JSON path of `value` ("" for the root, "model.encoder" for a nested object).
  Config(const nlohmann::json& value, std::string path);

  bool has(const std::string& key) const;
  /// The value at `key`, or `fallback` when absent. T is bool, int64_t, int, float, double or
  /// std::string. Throws heed::RecipeError on a wrong type, an integer that does not fit T, or a
  /// number that is not finite as a T. Numeric options use the overload with a Range.
  template <class T>
  T get(const std::string& key, const T& fallback) const;
  /// A number in `range` (T is int64_t, int, float or double); the fallback is checked too (a
  /// default derived from another value can fall outside), with "(the default)" in the error.
  template <class T>
  T get(const std::string& key, const T& fallback, const Range& range) const;
  /// The value at `key`; throws heed::RecipeError naming the path when absent.
  template <class T>
  T require(const std::string& key) const;
  template <class T>
  T require(const std::string& key, const Range& range) const;
  /// The list of numbers at `key` (`fallback` when absent), each in `range`, exactly `size` long
  /// (0: any non-empty length); errors name the element ("optimizer.betas.1").
  template <class T>
  std::vector<T> get_list(const std::string& key, const std::vector<T>& fallback,
                          const Range& range, size_t size = 0) const;
  /// A string that must be one of `choices`; the error lists them and suggests the nearest.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices) const;
  /// The object at `key` (an empty object when absent); throws when it is not an object.
  Config child(const std::string& key) const;
  /// The list of objects at `key` (none when absent), element i with path "<key>.i"; throws when
  /// it is not a list or an element is not an object.
  std::vector<Config> objects(const std::string& key) const;
  /// The part at `key` (an attention mechanism, an encoder, a pooling): a string names its type
  /// with default options (`"attention": "topk"`), an object gives the type and the options
  /// (`"attention": {"type": "topk", "topk": 8}`), absence means `fallback_type`. The result always
  /// holds "type"; the part reads it and its options, and finish() says which part an unread key
  /// was given to.
  Config part(const std::string& key, const std::string& fallback_type) const;
  /// Marks this object as the options of part `type` of `kind` ("attention", "topk"): finish()
  /// then says `"<path>.window" is not an option of attention "topk"`, adding the other parts of
  /// the kind that `owners(key)` names as having the option.
  void set_part(const std::string& kind, const std::string& type,
                std::function<std::vector<std::string>(const std::string&)> owners = {});
  /// Throws heed::RecipeError on the first key that no get/require/child asked for.
  void finish() const;
  /// finish() with `keys` counted as read, whatever their values: for a file that checks its
  /// keys before it reads any (a study, framework/study.h), so that a misspelt key is named as
  /// such rather than as a missing one.
  void finish_with(const std::vector<std::string>& keys) const;

  /// The options `read` asks a Config for, with their defaults and ranges, without any recipe:
  /// `read` runs on an empty object whose every get returns its fallback (require: a value in its
  /// range) while recording it. So `heed list` prints what the code reads, not a copy of it.
  /// `given` holds the values of keys that choose what else is read ({"encoder": {"type":
  /// "transformer"}}): a get of one of them returns it, and still records the code's default.
  static std::vector<OptionDoc> describe(const std::function<void(const Config&)>& read,
                                         const nlohmann::json& given = nlohmann::json::object());
  /// True inside describe(): the values read are placeholders, not a recipe's.
  bool describing() const { return docs_ != nullptr; }

  /// "model.encoder.hidden_size" for key "hidden_size" of this object.
  std::string path_of(const std::string& key) const;
  /// This object's own JSON path ("" for the root).
  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return value_; }

 private:
  const nlohmann::json& at(const std::string& key) const;
  std::string part_message(const std::string& key) const;
  void record(const std::string& key, const std::string& fallback,
              const std::string& constraint) const;
  nlohmann::json value_;
  std::string path_;
  mutable std::set<std::string> known_;
  // describe(): where the options read are recorded, and this object's key prefix there.
  std::shared_ptr<std::vector<OptionDoc>> docs_;
  std::string doc_prefix_;
  // set_part()
  std::string part_kind_, part_type_;
  bool type_is_name_ = false;  // part() of a name: "type" is this object's own path
  std::function<std::vector<std::string>(const std::string&)> part_owners_;
};

/// Runs `build` (constructing a part from the recipe object at `path`) and returns its result.
/// A constructor does not know the recipe, so an error it throws that names no recipe path
/// (`Linear: in_features ...`, oneDNN's text, an allocation's) comes out as the RecipeError
/// `recipe: "<path>": <message>` with path() `path`; a RecipeError passes unchanged (it names
/// its own path, deeper than `path`), so nested parts prefix an error once.
template <class Fn>
auto with_recipe_path(const std::string& path, Fn&& build) -> decltype(build()) {
  auto prefixed = [&](const std::string& what) {
    return RecipeError(
        path, "recipe: \"" + (path.empty() ? std::string("(root)") : path) + "\": " + what);
  };
  try {
    return build();
  } catch (const RecipeError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw prefixed("out of memory");
  } catch (const std::exception& e) {
    throw prefixed(e.what());
  }
}

/// The candidate nearest to `word` by edit distance, or "" when none is close enough to suggest.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);
/// `recipe: unknown <what> "name" at "<path>"; did you mean "x"? (valid: ...)` for unknown
/// registry names and choices.
std::string unknown_name_message(const std::string& what, const std::string& path,
                                 const std::string& name, const std::vector<std::string>& valid);
/// That message as the RecipeError of `path`.
RecipeError unknown_name_error(const std::string& what, const std::string& path,
                               const std::string& name, const std::vector<std::string>& valid);

}  // namespace heed
