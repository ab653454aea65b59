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

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace heed {

class Config {
 public:
  /// `path` is the JSON path of `value` ("" for the root, "model.encoder" for a nested object).
  Config(const nlohmann::json& value, std::string path);

  bool has(const std::string& key) const;
  /// The value at `key`, or `fallback` when absent. T is bool, int64_t, int, float, double or
  /// std::string. Throws heed::Error on a wrong type.
  template <class T>
  T get(const std::string& key, const T& fallback) const;
  /// The value at `key`; throws heed::Error naming the path when absent.
  template <class T>
  T require(const std::string& key) const;
  /// A string that must be one of `choices`; the error lists them and suggests the nearest.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices) const;
  /// The object at `key` (an empty object when absent); throws when it is not an object.
  Config child(const std::string& key) const;
  /// Throws heed::Error on the first key that no get/require/child asked for.
  void finish() const;

  /// "model.encoder.hidden_size" for key "hidden_size" of this object.
  std::string path_of(const std::string& key) const;
  /// This object's own JSON path ("" for the root).
  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return value_; }

 private:
  const nlohmann::json& at(const std::string& key) const;
  nlohmann::json value_;
  std::string path_;
  mutable std::set<std::string> known_;
};

/// The candidate nearest to `word` by edit distance, or "" when none is close enough to suggest.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);
/// `"name" is not one of ...; did you mean "x"?` for unknown registry names and choices.
std::string unknown_name_message(const std::string& what, const std::string& path,
                                 const std::string& name, const std::vector<std::string>& valid);

}  // namespace heed
